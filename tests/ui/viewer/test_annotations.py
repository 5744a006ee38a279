"""Corner texts a radiologist expects: identity, age at study, acquisition by modality; radiographs as radiographs."""

from __future__ import annotations

import numpy as np
import pytest

from medstation.core.view_state import ViewState
from medstation.core.volume import Volume, VolumeInfo
from medstation.ui.viewer import annotations


def _state(modality: str, shape=(10, 20, 30), geometry: bool = True, **details) -> ViewState:
    info = VolumeInfo(patient_name="Doe^Jane", patient_id="P7", study_date="20240102", study_description="Head",
                      series_number=3, series_description="AX T1", modality=modality, details=details)
    return ViewState(Volume(np.zeros(shape, np.int16), np.diag([0.5, 0.5, 5.0, 1.0]), info,
                            has_patient_geometry=geometry))


def test_patient_corner_has_identity_sex_age_and_study_moment():
    text = annotations.patient_text(_state("CT", PatientSex="F", PatientAge="034Y", StudyTime="101530.5"))
    assert text.splitlines() == ["Doe Jane", "ID P7  F  34 y", "2024-01-02 10:15", "Head"]


@pytest.mark.parametrize("birth, age", [("19900103", "33 y"), ("19900102", "34 y"), ("", "")])
def test_age_comes_from_the_birth_date_when_the_header_has_no_age(birth, age):
    state = _state("MR", PatientBirthDate=birth) if birth else _state("MR")
    assert annotations.age_at_study(state.volume.info) == age


def test_acquisition_parameters_follow_the_modality():
    ct = annotations.series_text(_state("CT", KVP="120", Exposure="250", BodyPartExamined="HEAD"))
    assert ct.splitlines()[:2] == ["Se 3: AX T1", "CT  HEAD  120 kVp  250 mAs"]
    mr = annotations.series_text(_state("MR", RepetitionTime="500.0", EchoTime="15", FlipAngle="90",
                                        MagneticFieldStrength="1.5", ContrastBolusAgent="Gadovist", KVP="120"))
    assert mr.splitlines()[1] == "MR  TR 500  TE 15  90°  1.5 T  +C Gadovist"


def test_slices_show_thickness_and_spacing():
    text = annotations.slice_text(_state("CT", SliceThickness="5"), "axial")
    assert text.splitlines()[0] == "Axial  Im 5/10" and text.splitlines()[2] == "Thk 5 mm  Sp 5.00 mm"


def test_a_radiograph_is_labelled_as_one_with_its_view_never_axial():
    text = annotations.slice_text(_state("DX", shape=(1, 40, 30), geometry=False, ViewPosition="PA"), "axial")
    assert text == "Radiograph PA"
    assert "Axial" not in annotations.slice_text(_state("CR", shape=(1, 40, 30)), "axial")
    assert annotations.slice_text(_state("", shape=(1, 40, 30), geometry=False), "axial") == "Image"


def test_elision_drops_whole_words():
    def fits(text):
        return len(text) <= 18

    assert annotations.elide_words("W 1978 L 1000 Contrast window", fits) == "W 1978 L 1000 …"
    assert annotations.elide_words("short", fits) == "short"
    assert annotations.elide_words("Supercalifragilisticexpialidocious", fits) == "Supercalifragilis…"
