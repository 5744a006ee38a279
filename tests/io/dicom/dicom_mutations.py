"""Damaged variants of a real DICOM file, made deterministically from a seed.

Each variant is ``(family, description, bytes)``. Families: truncation (and a cut of the last bytes only),
random bytes over the header or the pixel data, bit flips, wrong value lengths (beyond the file, odd, zero,
undefined), wrong VR codes, missing pixel data, absurd image attributes (Rows, Columns, NumberOfFrames,
BitsAllocated, ...), impossible geometry and rescale values, and a wrong transfer syntax UID in the file meta.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass

import numpy as np
from pydicom import dcmread
from pydicom.datadict import keyword_for_tag, tag_for_keyword
from pydicom.filereader import data_element_generator
from pydicom.filewriter import write_file_meta_info

LONG_VRS = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"}
TRANSFER_SYNTAXES = {
    "implicit little endian": "1.2.840.10008.1.2",
    "explicit little endian": "1.2.840.10008.1.2.1",
    "explicit big endian": "1.2.840.10008.1.2.2",
    "deflated": "1.2.840.10008.1.2.1.99",
    "RLE": "1.2.840.10008.1.2.5",
    "JPEG baseline": "1.2.840.10008.1.2.4.50",
    "JPEG lossless": "1.2.840.10008.1.2.4.70",
    "JPEG-LS": "1.2.840.10008.1.2.4.80",
    "JPEG 2000": "1.2.840.10008.1.2.4.90",
    "not a transfer syntax": "1.2.3.4",
    "unknown private": "1.3.6.1.4.1.5962.99.1",
}
# keyword: values that make no image, or an impossible one
ABSURD_ATTRIBUTES: dict[str, list] = {
    "Rows": [0, 1, 65535],
    "Columns": [0, 3, 65535],
    "NumberOfFrames": ["0", "-1", "2", "65535", "2147483647", "abc"],
    "BitsAllocated": [0, 1, 7, 12, 64, 65535],
    "BitsStored": [0, 17, 65535],
    "HighBit": [0, 200],
    "SamplesPerPixel": [0, 3, 65535],
    "PixelRepresentation": [2],
    "PlanarConfiguration": [7],
    "PhotometricInterpretation": ["RGB", "YBR_FULL", "PALETTE COLOR", "NONSENSE"],
}
IMPOSSIBLE_GEOMETRY: dict[str, list] = {
    "ImagePositionPatient": [["nan", "0", "0"], ["1", "2"], ["1e308", "1e308", "1e308"]],
    "ImageOrientationPatient": [[0, 0, 0, 0, 0, 0], [1, 0, 0, 1, 0, 0], ["nan", 0, 0, 0, 1, 0], [1, 0, 0]],
    "PixelSpacing": [[0, 0], [-1, 1], ["nan", 1], [1]],
    "RescaleSlope": ["0", "nan", "inf", "1e308"],
    "RescaleIntercept": ["nan", "-1e308"],
    "WindowCenter": ["abc"],
    "SliceThickness": ["-5", "nan"],
}


@dataclass(frozen=True)
class Element:
    """Where a top-level element starts, and where its length field and value lie in the file."""

    keyword: str
    vr: str
    start: int
    length_offset: int
    length_size: int
    value_offset: int
    length: int
    little_endian: bool


def _end_of_meta(data: bytes) -> tuple[int, str]:
    """Offset just past the file meta group, and the transfer syntax it names."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        meta = dcmread(io.BytesIO(data), stop_before_pixels=True).file_meta
    return 132 + 12 + int(meta.FileMetaInformationGroupLength), str(meta.TransferSyntaxUID)


def elements(data: bytes) -> list[Element]:
    """The top-level data elements of a DICOM file, with their byte positions (via pydicom's raw reading)."""
    start, transfer_syntax = _end_of_meta(data)
    implicit = transfer_syntax == "1.2.840.10008.1.2"
    little_endian = transfer_syntax != "1.2.840.10008.1.2.2"
    buffer = io.BytesIO(data)
    buffer.seek(start)
    found = []
    for raw in data_element_generator(buffer, implicit, little_endian, defer_size=1):
        if not hasattr(raw, "value_tell"):
            continue  # a sequence of undefined length, read whole
        vr = "" if implicit else str(raw.VR)
        size = 4 if implicit or vr in LONG_VRS else 2
        header = 8 if implicit or size == 2 else 12
        keyword = keyword_for_tag(raw.tag) or str(raw.tag)
        found.append(Element(keyword, vr, raw.value_tell - header, raw.value_tell - size, size, raw.value_tell,
                             raw.length, little_endian))
    return found


def _patched(data: bytes, offset: int, replacement: bytes) -> bytes:
    return data[:offset] + replacement + data[offset + len(replacement):]


def truncations(data: bytes, pixel_offset: int) -> list[tuple[str, str, bytes]]:
    """Cuts through the header and the pixel data ('truncation'), and of the last bytes only ('short tail':
    compressed pixel data ends with an 8-byte sequence delimiter that readers may do without)."""
    lengths = [0, 1, 131, 132, 140, 300, pixel_offset // 2, pixel_offset - 4, pixel_offset, pixel_offset + 1,
               (pixel_offset + len(data)) // 2, len(data) - 9]
    cases = [("truncation", f"truncated to {n} bytes", data[:n]) for n in sorted(set(lengths)) if n < len(data)]
    return cases + [("short tail", f"last {n} bytes cut", data[:-n]) for n in (1, 2)]


def random_bytes(data: bytes, start: int, stop: int, count: int, rng: np.random.Generator, where: str):
    cases = []
    for number in range(count):
        offset = int(rng.integers(start, max(start + 1, stop - 16)))
        length = int(rng.integers(1, 16))
        noise = rng.integers(0, 256, length, dtype=np.uint8).tobytes()
        cases.append(("random bytes", f"{where} #{number}: {length} bytes at {offset}", _patched(data, offset, noise)))
    return cases


def bit_flips(data: bytes, stop: int, count: int, rng: np.random.Generator):
    cases = []
    for number in range(count):
        offset = int(rng.integers(132, stop))
        flipped = bytes([data[offset] ^ (1 << int(rng.integers(0, 8)))])
        cases.append(("bit flip", f"#{number} at byte {offset}", _patched(data, offset, flipped)))
    return cases


def wrong_lengths(data: bytes, chosen: list[Element]):
    """Length fields set beyond the file, to odd and to zero lengths, and to 'undefined'."""
    cases = []
    for element in chosen:
        limit = 0xFFFFFFFF if element.length_size == 4 else 0xFFFF
        values = {"beyond the file": limit - 15, "odd": (element.length + 1) % limit,
                  "one short": max(0, element.length - 1), "zero": 0}
        if element.length_size == 4:
            values["to the end of the file"] = len(data) - element.value_offset + 2
            values["undefined"] = 0xFFFFFFFF
        order = "<" if element.little_endian else ">"
        for name, length in values.items():
            field = struct.pack(order + ("I" if element.length_size == 4 else "H"), length)
            cases.append(("wrong length", f"{element.keyword} length {name} ({length})",
                          _patched(data, element.length_offset, field)))
    return cases


def wrong_vrs(data: bytes, chosen: list[Element]):
    """Explicit VR codes swapped for others, of the other header size or unknown."""
    cases = []
    for element in chosen:
        if element.length_size != 2:
            continue
        for vr in (b"UL", b"SQ", b"OB", b"ZZ", b"\0\0"):
            cases.append(("wrong VR", f"{element.keyword} as {vr!r}", _patched(data, element.length_offset - 2, vr)))
    return cases


def with_transfer_syntax(data: bytes, uid: str) -> bytes:
    """The same file with its file meta's TransferSyntaxUID replaced (the dataset bytes unchanged)."""
    end_of_meta, _ = _end_of_meta(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        meta = dcmread(io.BytesIO(data), stop_before_pixels=True).file_meta
    meta.TransferSyntaxUID = uid
    del meta.FileMetaInformationGroupLength
    buffer = io.BytesIO()
    write_file_meta_info(buffer, meta, enforce_standard=True)
    return data[:132] + buffer.getvalue() + data[end_of_meta:]


def edited(data: bytes, keyword: str, value) -> bytes | None:
    """The file saved by pydicom with one attribute set (or deleted when ``value`` is None)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = dcmread(io.BytesIO(data))
        if value is None:
            if keyword not in dataset:
                return None
            delattr(dataset, keyword)
        else:
            try:
                setattr(dataset, keyword, value)
            except ValueError:  # text that is no number: stored as free text under the number's tag
                dataset.add_new(tag_for_keyword(keyword), "LO", value)
        buffer = io.BytesIO()
        try:
            dataset.save_as(buffer)
        except Exception:  # pydicom refuses to write some values; such a file cannot be made this way
            return None
    return buffer.getvalue()


def mutations(data: bytes, seed: int, random_cases: int = 12) -> list[tuple[str, str, bytes]]:
    """Every damaged variant of ``data`` (see the module docstring), in a fixed order for ``seed``."""
    rng = np.random.default_rng(seed)
    layout = elements(data)
    pixel = next(element for element in layout if element.keyword == "PixelData")
    header_end = pixel.value_offset
    cases = truncations(data, header_end)
    cases += random_bytes(data, 132, header_end, random_cases, rng, "header")
    cases += random_bytes(data, header_end, len(data), max(2, random_cases // 4), rng, "pixel data")
    cases += bit_flips(data, header_end, random_cases, rng)
    named = {"Rows", "Columns", "BitsAllocated", "ImagePositionPatient", "TransferSyntaxUID", "PixelData"}
    chosen = [element for element in layout if element.keyword in named]
    others = [element for element in layout if element.keyword not in named]
    chosen += [others[int(index)] for index in rng.choice(len(others), size=min(3, len(others)), replace=False)]
    cases += wrong_lengths(data, chosen)
    cases += wrong_vrs(data, chosen)
    cases += [("transfer syntax", name, with_transfer_syntax(data, uid)) for name, uid in TRANSFER_SYNTAXES.items()]
    missing = edited(data, "PixelData", None)
    cases.append(("missing pixel data", "PixelData removed", missing))
    cases.append(("missing pixel data", "the file ends where the pixel data would start", data[: pixel.start]))
    for family, table in (("absurd attribute", ABSURD_ATTRIBUTES), ("impossible geometry", IMPOSSIBLE_GEOMETRY)):
        for keyword, values in table.items():
            for value in values:
                mutated = edited(data, keyword, value)
                if mutated is not None:
                    cases.append((family, f"{keyword} = {value!r}", mutated))
    return cases
