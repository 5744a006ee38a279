"""Direct reads of uncompressed pixel data give exactly what pydicom decodes (masking, sign, byte order)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from medstation.errors import UnreadableInput
from medstation.io.dicom.header import read_file_records
from medstation.io.dicom.pixels import StoredPixels, read_pixel_frames

SHARED_DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"
DICOM = SHARED_DATA / "dicom"
COMMITTED_DICOM = Path(__file__).resolve().parents[2] / "data" / "dicom"
NATIVE_SAMPLES = [
    "dcm_qa_12bit/In/12bitUnsigned.dcm",
    "dcm_qa_12bit/In/12bitUnsigned_0x0F0F.dcm",
    "dcm_qa_12bit/In/12bitSigned_0x0F0F.dcm",
    "dcm_qa_ts/In/1.dcm",
    "dcm_qa_ts/In/2.dcm",
    "dcm_qa_ts/In/3.dcm",
    "dcm_qa_ct/In/GE/01.dcm",
    "dcm_qa_enh/In/Siemens/XA10/6_1.dcm",
    "ge_tilt/14.dcm",
    "siemens_mosaic/1.dcm",
]


@pytest.mark.parametrize("name", NATIVE_SAMPLES)
def test_direct_read_equals_pydicom_decoding(name):
    path = (COMMITTED_DICOM if name.startswith(("ge_tilt/", "siemens_mosaic/")) else DICOM) / name
    if not path.is_file():
        pytest.skip(f"sample file not found at {path}")
    _, frames = read_file_records(path)
    stored = frames[0].stored_pixels
    assert stored is not None, "uncompressed data should be located by the scan"
    direct = read_pixel_frames(path, stored)
    decoded = read_pixel_frames(path)
    assert direct.dtype == decoded.dtype and direct.dtype.isnative
    np.testing.assert_array_equal(direct, decoded)


@pytest.mark.skipif(not DICOM.is_dir(), reason=f"real DICOM suites not found at {DICOM}")
def test_compressed_data_is_left_to_pydicom():
    _, frames = read_file_records(DICOM / "dcm_qa_ts/In/9.dcm")
    assert frames[0].stored_pixels is None


def test_signed_12_bit_values_are_sign_extended_and_garbage_bits_dropped(tmp_path):
    raw = np.array([0x0FFF, 0xF800, 0x0123, 0xA7FF], dtype="<u2")  # high nibble is garbage
    path = tmp_path / "pixels.bin"
    path.write_bytes(b"\0" * 10 + raw.tobytes())
    signed = read_pixel_frames(path, StoredPixels(offset=10, dtype="<i2", shape=(1, 2, 2), bits_stored=12))
    np.testing.assert_array_equal(signed.ravel(), [-1, -2048, 0x123, 2047])
    unsigned = read_pixel_frames(path, StoredPixels(offset=10, dtype="<u2", shape=(1, 2, 2), bits_stored=12))
    np.testing.assert_array_equal(unsigned.ravel(), [0xFFF, 0x800, 0x123, 0x7FF])
    with pytest.raises(UnreadableInput, match="truncated"):
        read_pixel_frames(path, StoredPixels(offset=10, dtype="<u2", shape=(1, 2, 3), bits_stored=12))
