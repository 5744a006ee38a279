"""Header values that cannot place or size an image leave its pixels readable: shown, with a plain warning.

Only what makes the pixels themselves unreadable (an impossible rescale, a size that does not match the data)
refuses a file. An impossible pixel size leaves distances in pixels; an impossible plane leaves the image
without patient geometry, drawn as stored.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from dicom_projection import projection_pixels, write_projection
from pydicom import dcmread

from medstation.cli import main
from medstation.errors import UnreadableInput
from medstation.io.dicom.series import load_dicom

CT_SLICE = Path(__file__).resolve().parents[2] / "data" / "dicom" / "ge_tilt" / "15.dcm"


def _edited(source: Path, target: Path, **values) -> Path:
    dataset = dcmread(source)
    for keyword, value in values.items():
        setattr(dataset, keyword, value)
    dataset.save_as(target)
    return target


@pytest.fixture
def radiograph_without_pixel_size(tmp_path) -> Path:
    """A computed radiograph whose PixelSpacing says 0.000\\0.000, as some CR writers store it."""
    path = write_projection(tmp_path / "source.dcm")
    dataset = dcmread(path)
    del dataset.ImagerPixelSpacing
    dataset.Modality = "CR"
    dataset.PixelSpacing = ["0.000", "0.000"]
    dataset.save_as(tmp_path / "cr.dcm")
    path.unlink()
    return tmp_path / "cr.dcm"


def test_zero_pixel_spacing_shows_the_image_with_distances_in_pixels(radiograph_without_pixel_size):
    volume = load_dicom(radiograph_without_pixel_size)
    np.testing.assert_array_equal(volume.array[0], projection_pixels())
    assert not volume.spacing_known
    assert volume.spacing[:2] == (1.0, 1.0)
    assert any("PixelSpacing must be positive" in warning and "measured in pixels" in warning
               for warning in volume.warnings), volume.warnings


def test_info_reports_the_unknown_pixel_size_and_succeeds(radiograph_without_pixel_size, capsys):
    assert main(["info", str(radiograph_without_pixel_size), "--json"]) == 0
    series = json.loads(capsys.readouterr().out)["series"][0]
    assert series["spacing_known"] is False
    assert any("pixel size unknown" in warning for warning in series["warnings"])


def test_absent_pixel_spacing_is_unknown_not_one_millimetre(tmp_path):
    path = write_projection(tmp_path / "dx.dcm")
    dataset = dcmread(path)
    del dataset.ImagerPixelSpacing
    dataset.save_as(path)
    assert not load_dicom(path).spacing_known
    assert load_dicom(write_projection(tmp_path / "with_spacing.dcm")).spacing_known


@pytest.mark.parametrize("orientation", [[0, 0, 0, 0, 1, 0], [1, 0, 0, 1, 0, 0]])
def test_impossible_orientation_shows_the_pixels_without_patient_geometry(tmp_path, orientation):
    path = _edited(CT_SLICE, tmp_path / "slice.dcm", ImageOrientationPatient=orientation)
    volume = load_dicom(path)
    np.testing.assert_array_equal(volume.array[0], load_dicom(CT_SLICE).array[0])
    assert not volume.has_patient_geometry and volume.spacing_known
    assert any("ImageOrientationPatient" in warning and "no usable position" in warning
               for warning in volume.warnings), volume.warnings


def test_non_finite_position_shows_the_pixels_without_patient_geometry(tmp_path):
    path = _edited(CT_SLICE, tmp_path / "slice.dcm", ImagePositionPatient=["nan", "0", "0"])
    volume = load_dicom(path)
    assert not volume.has_patient_geometry and np.all(np.isfinite(volume.affine))


def test_an_impossible_rescale_still_refuses_the_file(tmp_path):
    path = _edited(CT_SLICE, tmp_path / "slice.dcm", RescaleSlope="inf")
    with pytest.raises(UnreadableInput, match=r"slice\.dcm: impossible value in the header: RescaleSlope"):
        load_dicom(path)


def test_a_file_that_is_not_dicom_is_named_as_what_it_is(tmp_path):
    fake = tmp_path / "image.dcm"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(300))
    with pytest.raises(UnreadableInput, match=r"image\.dcm: not a DICOM file \(it is a PNG picture\)"):
        load_dicom(fake)
