"""2-D projection images (DX) without patient geometry: flagged as such, with their PatientOrientation."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from dicom_projection import projection_pixels, write_projection
from pydicom import dcmread
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, RLELossless

from medstation.io.dicom.lean_header import read_lean_header
from medstation.io.dicom.preview import load_slice
from medstation.io.dicom.series import describe_series, largest_series, load_dicom, scan_dicom
from medstation.io.dicom.values import patient_orientation

# transfer syntax, whether the fast header reader takes the file (else pydicom reads it)
SYNTAXES = [(ExplicitVRLittleEndian, True), (RLELossless, False), (ExplicitVRBigEndian, False)]


@pytest.mark.parametrize("transfer_syntax, lean", SYNTAXES)
@pytest.mark.parametrize("orientation", [("L", "F"), ("A", "F"), ("AL", "HR")])
def test_projection_loads_as_stored_with_its_patient_orientation(tmp_path, transfer_syntax, lean, orientation):
    path = write_projection(tmp_path / "dx.dcm", orientation, transfer_syntax)
    assert (read_lean_header(path) is not None) == lean
    volume = load_dicom(path)
    assert not volume.has_patient_geometry
    assert volume.info.patient_orientation == orientation
    assert volume.info.modality == "DX"
    np.testing.assert_array_equal(volume.array, projection_pixels()[np.newaxis])
    assert any(warning.startswith("No patient position") for warning in volume.warnings)


def test_projection_without_patient_orientation_has_none(tmp_path):
    volume = load_dicom(write_projection(tmp_path / "dx.dcm", None))
    assert not volume.has_patient_geometry and volume.info.patient_orientation is None


@pytest.mark.parametrize("value", ["L\\F", "AL\\F ", "P\\FR", "A", "", "L\\F\\H", "X\\F", "LR\\F", "AA\\F"])
def test_fast_reader_and_pydicom_agree_on_patient_orientation(tmp_path, value):
    path = write_projection(tmp_path / "dx.dcm", value)
    lean = read_lean_header(path)
    assert lean is not None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        by_pydicom = dcmread(path).get("PatientOrientation")
    assert patient_orientation(lean.get("PatientOrientation")) == patient_orientation(by_pydicom)
    assert load_dicom(path).info.patient_orientation == patient_orientation(by_pydicom)


def test_preview_slice_of_a_projection_is_flagged_too(tmp_path):
    series = largest_series(scan_dicom(write_projection(tmp_path / "dx.dcm")))
    preview = load_slice(series)
    assert not preview.has_patient_geometry and preview.info.patient_orientation == ("L", "F")
    assert describe_series(series)["orientation"] == "LPS"

