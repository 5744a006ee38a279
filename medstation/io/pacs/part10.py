"""The bytes of an instance received over DIMSE, without decoding it: the Part-10 file meta information that goes
before the data set as the sender encoded it, and the study and series UIDs read from the data set's first
elements."""

from __future__ import annotations

import struct

from pynetdicom import PYNETDICOM_IMPLEMENTATION_UID, PYNETDICOM_IMPLEMENTATION_VERSION

PREAMBLE = b"\0" * 128 + b"DICM"
STUDY_INSTANCE_UID = 0x0020000D
SERIES_INSTANCE_UID = 0x0020000E
_UNDEFINED = 0xFFFFFFFF
_ITEM, _ITEM_END, _SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_LONG_VRS = frozenset({b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"})
_TAG_LENGTH = struct.Struct("<HHI")
_TAG_VR_LENGTH = struct.Struct("<HH2sH")
_LENGTH = struct.Struct("<I")
_MAX_DEPTH = 16


def _element(tag: int, vr: bytes, value: bytes) -> bytes:
    if vr == b"OB":
        return struct.pack("<HH2sHI", tag >> 16, tag & 0xFFFF, vr, 0, len(value)) + value
    return struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, vr, len(value)) + value


def _ui(uid: str) -> bytes:
    value = str(uid).strip().encode("ascii")
    return value + b"\0" * (len(value) % 2)


def file_head(sop_class_uid: str, sop_instance_uid: str, transfer_syntax_uid: str) -> bytes:
    """Preamble, ``DICM`` and the file meta information (explicit VR little endian) of a received instance: the
    elements pynetdicom's ``Event.file_meta`` holds, encoded as pydicom encodes them."""
    version = PYNETDICOM_IMPLEMENTATION_VERSION.encode("ascii")
    group = b"".join([
        _element(0x00020001, b"OB", b"\x00\x01"),
        _element(0x00020002, b"UI", _ui(sop_class_uid)),
        _element(0x00020003, b"UI", _ui(sop_instance_uid)),
        _element(0x00020010, b"UI", _ui(transfer_syntax_uid)),
        _element(0x00020012, b"UI", _ui(PYNETDICOM_IMPLEMENTATION_UID)),
        _element(0x00020013, b"SH", version + b" " * (len(version) % 2)),
    ])
    return PREAMBLE + _element(0x00020000, b"UL", struct.pack("<I", len(group))) + group


def study_and_series(data: bytes | memoryview, implicit_vr: bool) -> tuple[str, str] | None:
    """(StudyInstanceUID, SeriesInstanceUID) from the top level of a little-endian data set, walking its elements
    up to the series UID and skipping sequences; None when they are not both there or the data is not as expected
    (the caller then decodes the data set with pydicom)."""
    view = memoryview(data)
    try:
        found: dict[int, str] = {}
        position = 0
        while position < len(view):
            tag, vr, length, position = _header(view, position, not implicit_vr)
            if tag > SERIES_INSTANCE_UID:
                break
            if length == _UNDEFINED:
                if vr not in (None, b"SQ"):
                    return None  # an element of unknown VR and undefined length: left to pydicom
                position = _skip_sequence(view, position, not implicit_vr, 1)
                continue
            if tag in (STUDY_INSTANCE_UID, SERIES_INSTANCE_UID):
                found[tag] = bytes(view[position:position + length]).decode("ascii").rstrip("\0 ")
            position += length
        if found.get(STUDY_INSTANCE_UID) and found.get(SERIES_INSTANCE_UID):
            return found[STUDY_INSTANCE_UID], found[SERIES_INSTANCE_UID]
    except (struct.error, UnicodeDecodeError, ValueError):
        pass
    return None


def file_identity(data: bytes | memoryview) -> tuple[str, str, str] | None:
    """(StudyInstanceUID, SeriesInstanceUID, SOPInstanceUID) of a DICOM file's bytes (preamble, file meta
    information, data set), read without pydicom: the SOP instance UID from the file meta information, the others
    from the data set's first elements. None when the bytes are not such a file, the data set is big endian or
    deflated, or anything is not as expected (the caller then decodes it with pydicom)."""
    from pydicom.uid import UID

    view = memoryview(data)
    if bytes(view[:len(PREAMBLE)])[128:] != b"DICM":
        return None
    try:
        meta: dict[int, str] = {}
        position = len(PREAMBLE)
        while position + 8 <= len(view) and _TAG_VR_LENGTH.unpack_from(view, position)[0] == 0x0002:
            tag, _, length, position = _header(view, position, True)
            if length == _UNDEFINED:
                return None
            if tag in (0x00020003, 0x00020010):
                meta[tag] = bytes(view[position:position + length]).decode("ascii").rstrip("\0 ")
            position += length
        sop_uid, syntax = meta.get(0x00020003), UID(meta.get(0x00020010, ""))
        if not sop_uid or not syntax.is_transfer_syntax or not syntax.is_little_endian or syntax.is_deflated:
            return None
        found = study_and_series(view[position:], syntax.is_implicit_VR)
    except (struct.error, UnicodeDecodeError, ValueError):
        return None
    return (*found, sop_uid) if found else None


def _header(view: memoryview, position: int, explicit: bool) -> tuple[int, bytes | None, int, int]:
    """(tag, VR or None, value length, where the value starts)."""
    if explicit:
        group, element, vr, length = _TAG_VR_LENGTH.unpack_from(view, position)
        tag = group << 16 | element
        if group == 0xFFFE:
            return tag, None, _LENGTH.unpack_from(view, position + 4)[0], position + 8
        if vr in _LONG_VRS:
            return tag, vr, _LENGTH.unpack_from(view, position + 8)[0], position + 12
        if not vr.isalpha():
            raise ValueError("not explicit VR")
        return tag, vr, length, position + 8
    group, element, length = _TAG_LENGTH.unpack_from(view, position)
    return group << 16 | element, None, length, position + 8


def _skip_sequence(view: memoryview, position: int, explicit: bool, depth: int) -> int:
    """Past the items of a sequence of undefined length and its delimiter."""
    if depth > _MAX_DEPTH:
        raise ValueError("sequences nested too deeply")
    while True:
        tag, _, length, position = _header(view, position, explicit)
        if tag == _SEQUENCE_END:
            return position
        if tag != _ITEM:
            raise ValueError("not an item")
        if length != _UNDEFINED:
            position += length
            continue
        while True:  # an item of undefined length: its elements up to the item delimiter
            tag, _, length, position = _header(view, position, explicit)
            if tag == _ITEM_END:
                break
            if length == _UNDEFINED:
                position = _skip_sequence(view, position, explicit, depth + 1)
            else:
                position += length
