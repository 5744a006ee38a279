"""Transfer syntaxes and colour handled through pydicom's own bundled sample files (always installed)."""

from __future__ import annotations

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file

from medstation.errors import UnreadableInput
from medstation.io.dicom import load_dicom


def _sample(name: str) -> str:
    path = get_testdata_file(name, download=False)
    if path is None:
        pytest.skip(f"pydicom sample {name} is not bundled with this pydicom")
    return path


@pytest.mark.parametrize("name", ["SC_jpeg_no_color_transform.dcm", "SC_rgb_jpeg_gdcm.dcm"])
def test_jpeg_rgb_keeps_colour_samples(name):
    path = _sample(name)
    volume = load_dicom(path)
    assert volume.is_rgb and volume.array.dtype == np.uint8
    np.testing.assert_array_equal(volume.array[0], dcmread(path).pixel_array)


def test_two_frame_rle_rgb_becomes_two_volumes():
    volume = load_dicom(_sample("SC_rgb_rle_2frame.dcm"))
    assert volume.is_rgb and volume.n_volumes == 2
    assert volume.array.shape == (2, 1, 100, 100, 3)


def test_big_endian_rle_and_little_endian_agree():
    little = load_dicom(_sample("MR_small.dcm"))
    for name in ("MR_small_bigendian.dcm", "MR_small_RLE.dcm"):
        other = load_dicom(_sample(name))
        assert other.array.dtype.isnative
        np.testing.assert_array_equal(other.array, little.array)
        np.testing.assert_allclose(other.affine, little.affine)


def test_twelve_bit_extended_jpeg_loads_or_fails_clearly():
    """pylibjpeg cannot decode 12-bit extended JPEG (process 4); then the error must name the file."""
    path = _sample("JPEG-lossy.dcm")
    try:
        expected = dcmread(path).pixel_array
    except Exception:
        with pytest.raises(UnreadableInput, match=r"JPEG-lossy\.dcm: pixel data cannot be decoded"):
            load_dicom(path)
    else:
        np.testing.assert_array_equal(load_dicom(path).array[0], expected)
