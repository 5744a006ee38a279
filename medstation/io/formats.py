"""Which reader a path needs: a volume file (NIfTI, NRRD, MetaImage) or DICOM."""

from __future__ import annotations

from pathlib import Path

VOLUME_SUFFIXES = (".nii", ".nii.gz", ".nrrd", ".nhdr", ".mha", ".mhd")


def is_volume_file(path: Path) -> bool:
    """True for an existing file whose name ends in a volume format's suffix (any case)."""
    return path.is_file() and path.name.lower().endswith(VOLUME_SUFFIXES)
