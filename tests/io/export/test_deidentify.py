"""PS3.15 de-identification of single datasets: what is removed, replaced, remapped and shifted, and what is refused."""

from __future__ import annotations

import datetime
from pathlib import Path

import pydicom
import pytest
from pydicom.uid import generate_uid

from medstation.io.export.deidentify import (
    DeidentificationOptions,
    DeidentificationRefused,
    Deidentifier,
    burned_in_reason,
)

GE_TILT = Path(__file__).parents[2] / "data" / "dicom" / "ge_tilt"


def _slices():
    return [pydicom.dcmread(path) for path in sorted(GE_TILT.glob("*.dcm"))]


def _codes(dataset) -> set[str]:
    return {item.CodeValue for item in dataset.DeidentificationMethodCodeSequence}


def test_a_real_ct_loses_its_identity_and_keeps_its_structure():
    originals, slices = _slices(), _slices()
    for dataset in (*originals, *slices):
        dataset.StudyDate = "20180918"
    for dataset in slices:
        dataset.InstitutionName = "St Elsewhere Hospital"
        dataset.PatientName = "Doe^John"
        dataset.ReferringPhysicianName = "House^Gregory"
        dataset.SeriesDescription = "Head for John Doe"
        reference = pydicom.Dataset()
        reference.ReferencedSOPClassUID = originals[0].SOPClassUID
        reference.ReferencedSOPInstanceUID = originals[0].SOPInstanceUID
        dataset.ReferencedImageSequence = [reference]
    deidentifier = Deidentifier(seed=3)
    for dataset in slices:
        deidentifier.deidentify(dataset, "slice")
    first, original = slices[0], originals[0]
    assert first.PatientIdentityRemoved == "YES"
    assert _codes(first) == {"113100", "113105", "113107"}
    assert first.LongitudinalTemporalInformationModified == "MODIFIED"
    assert first.PatientName == first.PatientID and str(first.PatientID).startswith("ANON-")
    assert "InstitutionName" not in first
    assert not first.get("ReferringPhysicianName")
    assert first.SeriesDescription == f"CT series {original.SeriesNumber}"
    assert not any(element.tag.is_private for element in first.iterall())
    assert first.SOPClassUID == original.SOPClassUID
    assert first.file_meta.MediaStorageSOPInstanceUID == first.SOPInstanceUID != original.SOPInstanceUID
    assert len({str(d.StudyInstanceUID) for d in slices}) == 1
    assert first.StudyInstanceUID != original.StudyInstanceUID
    assert first.FrameOfReferenceUID != original.FrameOfReferenceUID
    assert all(d.ReferencedImageSequence[0].ReferencedSOPInstanceUID == first.SOPInstanceUID for d in slices)
    assert first.PixelData == original.PixelData
    shift = datetime.date.fromisoformat(_iso(first.StudyDate)) - datetime.date.fromisoformat(_iso(original.StudyDate))
    assert shift.days < 0
    assert first.StudyTime == original.StudyTime
    tally = deidentifier.tally.as_dict()
    assert tally["files"] == 3 and tally["private_removed"] > 0 and tally["uids_remapped"] >= 3 + 2


def _iso(date: str) -> str:
    return f"{date[:4]}-{date[4:6]}-{date[6:8]}"


def test_keep_dates_keeps_them_and_says_so():
    dataset, original = _slices()[0], _slices()[0]
    dataset.StudyDate = original.StudyDate = "20180918"
    Deidentifier(DeidentificationOptions(keep_dates=True)).deidentify(dataset)
    assert dataset.StudyDate == original.StudyDate
    assert _codes(dataset) == {"113100", "113105", "113106"}
    assert dataset.LongitudinalTemporalInformationModified == "UNMODIFIED"


def test_dates_of_one_patient_move_together_and_other_patients_get_their_own():
    first, second, other = _slices()
    first.StudyDate, second.StudyDate = "20200101", "20200111"
    other.PatientID, other.PatientName = "SOMEONE-ELSE", "Else^Someone"
    deidentifier = Deidentifier(seed=5)
    for dataset in (first, second, other):
        deidentifier.deidentify(dataset)
    gap = datetime.date.fromisoformat(_iso(second.StudyDate)) - datetime.date.fromisoformat(_iso(first.StudyDate))
    assert gap.days == 10
    assert other.PatientID != first.PatientID


def test_burned_in_annotation_is_refused_unless_allowed():
    dataset = _slices()[0]
    dataset.BurnedInAnnotation = "YES"
    with pytest.raises(DeidentificationRefused, match=r"burned.in.*--allow-burned-in") as refused:
        Deidentifier().deidentify(dataset, "/data/14.dcm")
    assert str(refused.value).startswith("/data/14.dcm: BurnedInAnnotation is YES")
    Deidentifier(DeidentificationOptions(allow_burned_in=True)).deidentify(dataset, "x")
    assert any("NOT removed" in value for value in dataset.DeidentificationMethod) and "113101" not in _codes(dataset)


@pytest.mark.parametrize(("modality", "burned", "refused"), [("US", None, True), ("XC", None, True),
                                                             ("SC", "NO", False), ("CT", None, False)])
def test_modalities_that_may_carry_burned_in_text(modality, burned, refused):
    dataset = pydicom.Dataset()
    dataset.Modality = modality
    if burned is not None:
        dataset.BurnedInAnnotation = burned
    assert (burned_in_reason(dataset) is not None) == refused


def test_a_partial_date_is_emptied_private_attributes_go_and_any_uid_is_remapped():
    dataset = _slices()[0]
    dataset.AcquisitionDateTime = "2019"
    dataset.add_new((0x0019 << 16) | 0x10FF, "LO", "private value")
    uid = generate_uid()
    dataset.IrradiationEventUID = uid
    deidentifier = Deidentifier()
    deidentifier.deidentify(dataset)
    assert dataset.AcquisitionDateTime == ""
    assert (0x0019, 0x10FF) not in dataset
    assert dataset.IrradiationEventUID == deidentifier.new_uid(uid) != uid
