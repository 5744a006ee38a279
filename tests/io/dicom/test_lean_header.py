"""The fast header reader gives pydicom's values for the files it takes, and leaves every other file to pydicom."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest
from pydicom import Dataset, dcmread

from medstation.io.dicom.header import read_file_records
from medstation.io.dicom.lean_header import _WANTED, read_lean_header

COMMITTED = Path(__file__).resolve().parents[2] / "data" / "dicom"
GE_SLICE = COMMITTED / "ge_tilt" / "15.dcm"
KEYWORDS = [keyword for keyword, _, _ in _WANTED.values()]


def _plain(value):
    """A pydicom value as plain Python: float, int, str, None or a list of them."""
    if type(value).__name__ == "MultiValue":
        return [_plain(item) for item in value]
    if isinstance(value, float):
        return float(value)
    if isinstance(value, int):
        return int(value)
    return None if value is None else str(value)


def _pydicom_values(path: Path) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = dcmread(path, stop_before_pixels=True)
    values = {keyword: _plain(dataset.get(keyword)) for keyword in KEYWORDS if keyword in dataset}
    values.update({keyword: _plain(dataset.file_meta.get(keyword)) for keyword in KEYWORDS if keyword in
                   dataset.file_meta})
    return values


def _lean_values(path: Path) -> dict:
    lean = read_lean_header(path)
    values = {keyword: lean.get(keyword) for keyword in KEYWORDS if keyword in lean}
    values.update({keyword: value for keyword, value in lean.file_meta.items() if keyword in KEYWORDS})
    return values


def _files(folder: Path) -> list[Path]:
    return sorted(Path(parent) / name for parent, _, names in os.walk(folder) for name in names
                  if name not in ("LICENSE", "README.md"))


def _assert_same_as_pydicom(paths: list[Path]) -> int:
    read = 0
    for path in paths:
        if read_lean_header(path) is None:
            continue
        read += 1
        assert _lean_values(path) == _pydicom_values(path), path
    return read


def test_committed_ct_slices_read_as_pydicom_reads_them():
    assert _assert_same_as_pydicom(_files(COMMITTED / "ge_tilt")) == 3


def test_every_shared_file_it_takes_reads_as_pydicom_reads_it(shared_path):
    paths = _files(shared_path("dicom"))
    assert _assert_same_as_pydicom(paths) > len(paths) // 2


def test_pixel_data_is_located_not_read():
    lean = read_lean_header(GE_SLICE)
    element = lean.get_item("PixelData")
    size = GE_SLICE.stat().st_size
    assert element.length == lean.Rows * lean.Columns * 2
    assert element.value_tell + element.length <= size


@pytest.mark.parametrize("name, mutate", [
    ("no preamble", lambda data: data[128:]),
    ("truncated header", lambda data: data[:700]),
    ("empty", lambda data: b""),
    ("big endian syntax", lambda data: data.replace(b"1.2.840.10008.1.2.1\0", b"1.2.840.10008.1.2.2\0", 1)),
    ("Rows out of order", lambda data: data[:132] + data[132:].replace(b"\x28\x00\x10\x00", b"\x08\x00\x10\x00", 1)),
])
def test_files_it_does_not_take_are_left_to_pydicom(tmp_path, name, mutate):
    path = tmp_path / "case.dcm"
    path.write_bytes(mutate(GE_SLICE.read_bytes()))
    assert read_lean_header(path) is None


def test_mosaic_is_left_to_pydicom_and_still_read():
    path = COMMITTED / "siemens_mosaic" / "1.dcm"
    assert read_lean_header(path) is None
    _, frames = read_file_records(path)
    assert frames[0].mosaic is not None


@pytest.mark.parametrize("transfer_syntax", ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2"])
def test_nested_undefined_length_sequences_and_a_large_private_value_are_stepped_over(tmp_path, transfer_syntax):
    dataset = dcmread(GE_SLICE)
    code = Dataset()
    code.CodeValue = "T-A0100"
    reference = Dataset()
    reference.ReferencedSOPInstanceUID = "1.2.3.4"
    reference.ConceptNameCodeSequence = [code]
    dataset.ReferencedImageSequence = [reference]
    for element in (dataset["ReferencedImageSequence"], reference["ConceptNameCodeSequence"]):
        element.is_undefined_length = True
    reference.is_undefined_length_sequence_item = code.is_undefined_length_sequence_item = True
    dataset.private_block(0x0029, "MEDSTATION TEST", create=True).add_new(0x10, "OB", bytes(3_000_000))
    dataset.file_meta.TransferSyntaxUID = transfer_syntax
    path = tmp_path / "nested.dcm"
    dataset.save_as(path, enforce_file_format=True)

    lean = read_lean_header(path)
    assert lean is not None
    assert _lean_values(path) == _pydicom_values(path)
    pixel_data = lean.get_item("PixelData")
    assert pixel_data.length == 512 * 512 * 2
    assert path.read_bytes()[pixel_data.value_tell:] == dataset.PixelData
