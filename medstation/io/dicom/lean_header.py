"""Read the header of a plain DICOM file without pydicom: the fast path of scanning.

Only the common case is read here: a Part-10 file (128-byte preamble and ``DICM``) in implicit or explicit
VR little endian, with uncompressed pixel data, neither enhanced multi-frame nor a Siemens mosaic, and with
ASCII text. The top-level elements are walked once, up to the pixel data, and only the attributes that
scanning uses are decoded, to the values pydicom would give. For any other file, and for anything unexpected
(a damaged file among them), :func:`read_lean_header` returns None: the caller then reads the file with
pydicom, which also gives the precise reason a damaged file is refused.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

_IMPLICIT_LE = "1.2.840.10008.1.2"
_EXPLICIT_LE = "1.2.840.10008.1.2.1"
_PIXEL_DATA = 0x7FE00010
_UNDEFINED = 0xFFFFFFFF
_ITEM, _ITEM_END, _SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_LONG_VRS = frozenset({b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"})
_SHORT_VRS = frozenset({
    b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FD", b"FL", b"IS", b"LO", b"LT", b"PN", b"SH", b"SL",
    b"SS", b"ST", b"TM", b"UI", b"UL", b"US",
})
_CHUNK_BYTES = 16384
_TAG_LENGTH = struct.Struct("<HHI")
_TAG_VR_LENGTH = struct.Struct("<HH2sH")
_LENGTH = struct.Struct("<I")
# Enough nested sequences for any real header; deeper means a damaged file.
_MAX_DEPTH = 16

# tag: (keyword, VR, several values allowed)
_WANTED: dict[int, tuple[str, str, bool]] = {
    0x00020002: ("MediaStorageSOPClassUID", "UI", False),
    0x00020010: ("TransferSyntaxUID", "UI", False),
    0x00080008: ("ImageType", "CS", True),
    0x00080016: ("SOPClassUID", "UI", False),
    0x00080020: ("StudyDate", "DA", False),
    0x00080060: ("Modality", "CS", False),
    0x00080030: ("StudyTime", "TM", False),
    0x00100030: ("PatientBirthDate", "DA", False),
    0x00100040: ("PatientSex", "CS", False),
    0x00101010: ("PatientAge", "AS", False),
    0x00180010: ("ContrastBolusAgent", "LO", False),
    0x00180015: ("BodyPartExamined", "CS", False),
    0x00180060: ("KVP", "DS", False),
    0x00180080: ("RepetitionTime", "DS", False),
    0x00180082: ("InversionTime", "DS", False),
    0x00180087: ("MagneticFieldStrength", "DS", False),
    0x00181152: ("Exposure", "IS", False),
    0x00181314: ("FlipAngle", "DS", False),
    0x00185101: ("ViewPosition", "CS", False),
    0x00081030: ("StudyDescription", "LO", False),
    0x0008103E: ("SeriesDescription", "LO", False),
    0x00100010: ("PatientName", "PN", False),
    0x00100020: ("PatientID", "LO", False),
    0x00180050: ("SliceThickness", "DS", False),
    0x00180081: ("EchoTime", "DS", False),
    0x00180086: ("EchoNumbers", "IS", True),
    0x00180088: ("SpacingBetweenSlices", "DS", False),
    0x00181030: ("ProtocolName", "LO", False),
    0x00181120: ("GantryDetectorTilt", "DS", False),
    0x00181164: ("ImagerPixelSpacing", "DS", True),
    0x0020000D: ("StudyInstanceUID", "UI", False),
    0x0020000E: ("SeriesInstanceUID", "UI", False),
    0x00200011: ("SeriesNumber", "IS", False),
    0x00200012: ("AcquisitionNumber", "IS", False),
    0x00200013: ("InstanceNumber", "IS", False),
    0x00200020: ("PatientOrientation", "CS", True),
    0x00200032: ("ImagePositionPatient", "DS", True),
    0x00200037: ("ImageOrientationPatient", "DS", True),
    0x00200052: ("FrameOfReferenceUID", "UI", False),
    0x00200100: ("TemporalPositionIdentifier", "IS", False),
    0x00280002: ("SamplesPerPixel", "US", False),
    0x00280004: ("PhotometricInterpretation", "CS", False),
    0x00280006: ("PlanarConfiguration", "US", False),
    0x00280008: ("NumberOfFrames", "IS", False),
    0x00280010: ("Rows", "US", False),
    0x00280011: ("Columns", "US", False),
    0x00280030: ("PixelSpacing", "DS", True),
    0x00280100: ("BitsAllocated", "US", False),
    0x00280101: ("BitsStored", "US", False),
    0x00280102: ("HighBit", "US", False),
    0x00280103: ("PixelRepresentation", "US", False),
    0x00281050: ("WindowCenter", "DS", True),
    0x00281051: ("WindowWidth", "DS", True),
    0x00281052: ("RescaleIntercept", "DS", False),
    0x00281053: ("RescaleSlope", "DS", False),
    0x00281055: ("WindowCenterWidthExplanation", "LO", True),
    0x3004000C: ("GridFrameOffsetVector", "DS", True),
}
# Their presence means a layout this reader leaves to pydicom (enhanced multi-frame).
_DECLINED = frozenset({0x52009229, 0x52009230})


class _Declined(Exception):
    """The file is not one this reader handles; pydicom reads it instead."""


@dataclass(frozen=True)
class PixelDataElement:
    """Where the pixel data value lies: its byte offset in the file and its length in bytes."""

    value_tell: int
    length: int
    is_undefined_length: bool = False


class LeanDataset:
    """The decoded attributes of one header, read like a pydicom Dataset (``get``, ``in``, attributes)."""

    def __init__(self, values: dict[str, object], file_meta: dict[str, object]):
        self.__dict__["_values"] = values
        self.__dict__["file_meta"] = file_meta

    def get(self, keyword: str, default: object = None) -> object:
        """The value of ``keyword``, or ``default`` when the header lacks it."""
        return self._values.get(keyword, default)

    def get_item(self, keyword: str) -> object:
        """The element itself (only the pixel data is kept as an element)."""
        return self._values.get(keyword)

    def __contains__(self, keyword: str) -> bool:
        return keyword in self._values

    def __getattr__(self, keyword: str) -> object:
        try:
            return self._values[keyword]
        except KeyError:
            raise AttributeError(keyword) from None


def read_lean_header(path: Path) -> LeanDataset | None:
    """The header of ``path`` if it is a plain uncompressed little-endian DICOM image file, else None.

    None also stands for every kind of damage: the caller reads such a file with pydicom, which explains.
    """
    try:
        with open(path, "rb") as file:
            return _HeaderReader(file).read()
    except (_Declined, OSError, ValueError, struct.error):
        return None


class _HeaderReader:
    """Walks the elements of one open file through a window of it that only moves forward.

    Values nobody needs are skipped with a seek, so a large private element costs no reading.
    """

    def __init__(self, file):
        self.file = file
        self.base = 0
        self.buffer = file.read(_CHUNK_BYTES)

    def _window(self, start: int, stop: int) -> bool:
        """Make the file's bytes ``[start, stop)`` available in the buffer; False when the file ends first."""
        end = self.base + len(self.buffer)
        if self.base <= start and stop <= end:
            return True
        if self.base <= start <= end:
            self.buffer = self.buffer[start - self.base :] + self.file.read(max(_CHUNK_BYTES, stop - end))
        else:
            self.file.seek(start)
            self.buffer = self.file.read(max(_CHUNK_BYTES, stop - start))
        self.base = start
        return stop <= self.base + len(self.buffer)

    def _bytes(self, start: int, stop: int) -> bytes:
        """Bytes ``[start, stop)`` of the file; declines a file that ends before ``stop``."""
        if not self._window(start, stop):
            raise _Declined("the file ends inside its header")
        return self.buffer[start - self.base : stop - self.base]

    def read(self) -> LeanDataset:
        if self._bytes(128, 132) != b"DICM":
            raise _Declined("no Part-10 preamble")
        meta: dict[str, object] = {}
        position = self._walk(132, meta, explicit=True, meta_only=True)
        transfer_syntax = meta.get("TransferSyntaxUID")
        if transfer_syntax not in (_IMPLICIT_LE, _EXPLICIT_LE):
            raise _Declined(f"transfer syntax {transfer_syntax}")
        values: dict[str, object] = {}
        self._walk(position, values, explicit=transfer_syntax == _EXPLICIT_LE, meta_only=False)
        if "MOSAIC" in _as_list(values.get("ImageType")):
            raise _Declined("Siemens mosaic")
        return LeanDataset(values, meta)

    def _header(self, position: int, explicit: bool) -> tuple[int, bytes | None, int, int]:
        """``(tag, VR or None, value length, value offset)`` of the element starting at ``position``."""
        if not self._window(position, position + 12) and not self._window(position, position + 8):
            raise _Declined("the file ends inside an element header")
        offset = position - self.base
        if not explicit:
            group, element, length = _TAG_LENGTH.unpack_from(self.buffer, offset)
            return group << 16 | element, None, length, position + 8
        group, element, vr, length = _TAG_VR_LENGTH.unpack_from(self.buffer, offset)
        if group == 0xFFFE:
            group, element, length = _TAG_LENGTH.unpack_from(self.buffer, offset)
            return group << 16 | element, None, length, position + 8
        if vr in _SHORT_VRS:
            return group << 16 | element, vr, length, position + 8
        if vr not in _LONG_VRS:
            raise _Declined(f"unknown VR {vr!r}")
        if not self._window(position, position + 12):
            raise _Declined("the file ends inside an element header")
        (length,) = _LENGTH.unpack_from(self.buffer, position + 8 - self.base)
        return group << 16 | element, vr, length, position + 12

    def _walk(self, position: int, values: dict[str, object], explicit: bool, meta_only: bool) -> int:
        """Decode the wanted top-level elements from ``position``; returns where the walk stopped.

        The walk stops at the pixel data or at the end of the file (a DICOMDIR has no pixel data). Top-level
        tags must ascend, as the standard requires: anything else is a damaged file.
        """
        previous = -1
        while True:
            if not meta_only and not self._window(position, position + 1):
                return position
            if meta_only and self._bytes(position, position + 2) != b"\x02\x00":
                return position
            tag, vr, length, start = self._header(position, explicit)
            if tag <= previous or tag >> 16 == 0xFFFE:
                raise _Declined("elements out of order")
            previous = tag
            if tag in _DECLINED:
                raise _Declined("enhanced multi-frame")
            if tag == _PIXEL_DATA:
                if length == _UNDEFINED or (vr is not None and vr not in (b"OB", b"OW")):
                    raise _Declined("encapsulated pixel data")
                values["PixelData"] = PixelDataElement(value_tell=start, length=length)
                return start
            if length == _UNDEFINED:
                if explicit and vr != b"SQ":
                    raise _Declined("undefined length outside a sequence")
                position = self._skip_sequence(start, explicit, depth=1)
                continue
            if tag in _WANTED:
                keyword, expected_vr, several = _WANTED[tag]
                if vr is not None and vr.decode("ascii") != expected_vr:
                    raise _Declined(f"{keyword} stored as {vr!r}")
                values[keyword] = _decode(self._bytes(start, start + length), expected_vr, several)
            position = start + length

    def _skip_sequence(self, position: int, explicit: bool, depth: int) -> int:
        """Offset just past an undefined-length sequence whose items start at ``position``."""
        if depth > _MAX_DEPTH:
            raise _Declined("sequences nested too deep")
        while True:
            tag, _, length, start = self._header(position, explicit=False)
            if tag == _SEQUENCE_END:
                return start
            if tag != _ITEM:
                raise _Declined("a sequence holds something other than items")
            position = start + length if length != _UNDEFINED else self._skip_item(start, explicit, depth)

    def _skip_item(self, position: int, explicit: bool, depth: int) -> int:
        """Offset just past an undefined-length item whose elements start at ``position`` (tags ascending)."""
        previous = -1
        while True:
            tag, vr, length, start = self._header(position, explicit)
            if tag == _ITEM_END:
                return start
            if tag <= previous:
                raise _Declined("elements out of order")
            previous = tag
            if length == _UNDEFINED:
                if explicit and vr != b"SQ":
                    raise _Declined("undefined length outside a sequence")
                position = self._skip_sequence(start, explicit, depth + 1)
            else:
                position = start + length


def _as_list(value: object) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _decode(raw: bytes, vr: str, several: bool) -> object:
    """A value as pydicom gives it: str or number, a list for several values, None for an empty number."""
    if vr == "US":
        if len(raw) % 2:
            raise _Declined("odd length of a US value")
        numbers = list(struct.unpack(f"<{len(raw) // 2}H", raw))
        return _single_or_list(numbers, several) if numbers else None
    text = raw.decode("ascii").rstrip(" \0")
    parts = text.split("\\")
    if vr == "DS":
        return _single_or_list([float(part.strip(" \0")) for part in parts], several) if text.strip() else None
    if vr == "IS":
        return _single_or_list([int(part.strip(" \0")) for part in parts], several) if text.strip() else None
    return _single_or_list(parts, several) if len(parts) > 1 else text


def _single_or_list(values: list, several: bool) -> object:
    if len(values) == 1:
        return values[0]
    if not several:
        raise _Declined("several values where one is expected")
    return values
