"""Which reader a path needs (a volume file or DICOM), and what a file is when it is neither."""

from __future__ import annotations

from pathlib import Path

NIBABEL_SUFFIXES = (".nii", ".nii.gz", ".hdr", ".img", ".mgh", ".mgz")
"""NIfTI-1/2 (single file or .hdr/.img pair), Analyze 7.5 (.hdr/.img) and FreeSurfer MGH, read with nibabel."""
SIMPLEITK_SUFFIXES = (".nrrd", ".nhdr", ".mha", ".mhd")
"""NRRD and MetaImage, read with SimpleITK."""
VOLUME_SUFFIXES = NIBABEL_SUFFIXES + SIMPLEITK_SUFFIXES

# Leading bytes (at an offset) that tell a file's kind, checked in order.
_SIGNATURES = (
    (0, b"\x89PNG\r\n\x1a\n", "a PNG picture"),
    (0, b"\xff\xd8\xff", "a JPEG picture"),
    (0, b"II*\x00", "a TIFF picture"),
    (0, b"MM\x00*", "a TIFF picture"),
    (0, b"GIF8", "a GIF picture"),
    (0, b"%PDF", "a PDF document"),
    (0, b"PK\x03\x04", "a ZIP archive"),
    (0, b"\x1f\x8b", "a gzip-compressed file"),
    (0, b"BZh", "a bzip2-compressed file"),
    (0, b"\xfd7zXZ\x00", "an xz-compressed file"),
    (0, b"\x89HDF\r\n\x1a\n", "an HDF5 file (MINC 2 or another format)"),
    (0, b"CDF\x01", "a NetCDF file (MINC 1)"),
    (0, b"NRRD", "an NRRD volume"),
    (0, b"SQLite format 3\x00", "an SQLite database"),
    (4, b"n+2\x00", "a NIfTI-2 volume"),
    (344, b"n+1\x00", "a NIfTI-1 volume"),
    (344, b"ni1\x00", "the header of a NIfTI-1 pair (.hdr with its .img)"),
    (128, b"DICM", "a DICOM file"),
)
_SNIFF_BYTES = 512


def volume_suffix(path: Path) -> str:
    """The volume format suffix ``path`` ends with (lower case, ``.nii.gz`` whole), else its last suffix."""
    name = path.name.lower()
    for suffix in VOLUME_SUFFIXES:
        if name.endswith(suffix):
            return suffix
    return path.suffix.lower()


def is_volume_file(path: Path) -> bool:
    """True for an existing file whose name ends in a volume format's suffix (any case)."""
    return path.is_file() and path.name.lower().endswith(VOLUME_SUFFIXES)


def file_kind(path: Path) -> str | None:
    """What ``path`` is, told from its first bytes (e.g. ``"a PNG picture"``), or None when it cannot be told."""
    try:
        with open(path, "rb") as file:
            head = file.read(_SNIFF_BYTES)
    except OSError:
        return None
    if not head:
        return "an empty file"
    for offset, signature, kind in _SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            return kind
    if _looks_like_text(head):
        return "a text file"
    return None


def _looks_like_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        # A multi-byte character cut at the end of the sample is still text.
        try:
            text = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return False
    return all(character.isprintable() or character in "\r\n\t\f" for character in text)
