"""Transfer syntaxes and colour handled through pydicom's own bundled sample files (always installed)."""

from __future__ import annotations

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file

from medstation.errors import UnreadableInput
from medstation.io.dicom.pixels import JPEG_BASELINE
from medstation.io.dicom.series import load_dicom


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
    dataset = dcmread(path)
    if dataset.file_meta.TransferSyntaxUID == JPEG_BASELINE:
        dataset.pixel_array_options(decoding_plugin="pillow")  # as MedStation decodes JPEG Baseline
    np.testing.assert_array_equal(volume.array[0], dataset.pixel_array)


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
    """pylibjpeg cannot decode 12-bit extended JPEG (process 4); then one line must name the file."""
    path = _sample("JPEG-lossy.dcm")
    try:
        expected = dcmread(path).pixel_array
    except Exception:
        with pytest.raises(UnreadableInput, match=r"JPEG-lossy\.dcm: pixel data cannot be decoded") as refused:
            load_dicom(path)
        assert "\n" not in str(refused.value), "the decoder's explanation must be cut to one line"
    else:
        np.testing.assert_array_equal(load_dicom(path).array[0], expected)


def test_eight_bit_big_endian_samples_are_not_swapped_in_pairs():
    """OW pixel data of 8-bit samples in a big-endian file lies in byte-swapped 16-bit words."""
    path = _sample("SC_rgb_small_odd_big_endian.dcm")
    volume = load_dicom(path)
    np.testing.assert_array_equal(volume.array[0], dcmread(path).pixel_array)
    np.testing.assert_array_equal(volume.array, load_dicom(_sample("SC_rgb_small_odd.dcm")).array)


def test_uncompressed_ybr_full_422_is_read_at_two_values_per_pixel():
    path = _sample("SC_ybr_full_422_uncompressed.dcm")
    volume = load_dicom(path)
    assert volume.is_rgb
    np.testing.assert_array_equal(volume.array[0], dcmread(path).pixel_array)


def test_deflated_transfer_syntax_is_inflated_and_read():
    path = _sample("image_dfl.dcm")
    volume = load_dicom(path)
    expected = dcmread(path).pixel_array.astype(np.float64)
    np.testing.assert_array_equal(volume.array[0].astype(np.float64), expected)


@pytest.mark.parametrize("name", ["SC_rgb_rle_16bit.dcm", "SC_rgb_rle_32bit_2frame.dcm"])
def test_deep_rgb_converts_at_its_own_depth(tmp_path, name):
    from medstation.io.nifti import read_volume, write_volume

    volume = load_dicom(_sample(name))
    assert volume.array.dtype.itemsize > 1 and volume.array.max() > 255
    back = read_volume(write_volume(volume, tmp_path / "rgb.nii.gz"))
    assert back.is_rgb and back.array.dtype == volume.array.dtype
    np.testing.assert_array_equal(back.array, volume.array)
