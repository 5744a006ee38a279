"""The image formats MedStation opens, the one table every reader, command and file dialog uses.

Each format is told by its file suffix (any case, ``.nii.gz`` whole). DICOM is told by content, not name: a folder,
a DICOMDIR and any file whose suffix names no other format are read as DICOM (DICOM files often have no suffix).
:func:`medstation.io.open_study.open_image` opens a path by this table. :func:`file_kind` names what a file is
when it turns out to be none of these.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

NIBABEL, SIMPLEITK, PILLOW, PYDICOM = "nibabel", "simpleitk", "pillow", "pydicom"


@dataclass(frozen=True)
class ImageFormat:
    """A format MedStation opens as a Volume: its name, its file suffixes (lower case) and the library reading it."""

    name: str
    suffixes: tuple[str, ...]
    reader: str


DICOM = ImageFormat("DICOM", (".dcm",), PYDICOM)
IMAGE_FORMATS = (
    DICOM,
    ImageFormat("NIfTI", (".nii", ".nii.gz"), NIBABEL),
    ImageFormat("Analyze 7.5 or NIfTI pair", (".hdr", ".img"), NIBABEL),
    ImageFormat("FreeSurfer MGH", (".mgh", ".mgz"), NIBABEL),
    ImageFormat("NRRD", (".nrrd", ".nhdr"), SIMPLEITK),
    ImageFormat("MetaImage", (".mha", ".mhd"), SIMPLEITK),
    ImageFormat("Pictures", (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"), PILLOW),
)
"""Every format MedStation opens; pictures are read as one slice without patient geometry."""


def _suffixes(reader: str) -> tuple[str, ...]:
    return tuple(suffix for image_format in IMAGE_FORMATS if image_format.reader == reader
                 for suffix in image_format.suffixes)


NIBABEL_SUFFIXES = _suffixes(NIBABEL)
"""NIfTI-1/2 (single file or .hdr/.img pair), Analyze 7.5 (.hdr/.img) and FreeSurfer MGH, read with nibabel."""
SIMPLEITK_SUFFIXES = _suffixes(SIMPLEITK)
"""NRRD and MetaImage, read with SimpleITK."""
VOLUME_SUFFIXES = NIBABEL_SUFFIXES + SIMPLEITK_SUFFIXES
PICTURE_SUFFIXES = _suffixes(PILLOW)
"""PNG, JPEG, BMP and TIFF pictures, read with Pillow."""

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


def format_of(path: Path) -> ImageFormat:
    """The format that reads ``path``: told by its suffix (any case); DICOM for a folder and for a file whose suffix
    names no other format."""
    if path.is_dir():
        return DICOM
    name = path.name.lower()
    return next((image_format for image_format in IMAGE_FORMATS if name.endswith(image_format.suffixes)), DICOM)


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
