"""The DICOM files a send names: folders walked, each file's SOP class and transfer syntax read from its header,
files that are not DICOM instances set aside with their reason."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from medstation.errors import UnreadableInput


@dataclass(frozen=True)
class OutgoingFile:
    path: Path
    sop_class_uid: str
    transfer_syntax_uid: str


def outgoing_files(paths: list[Path | str]) -> tuple[list[OutgoingFile], list[tuple[Path, str]]]:
    """(the DICOM instances under ``paths``, in path order; the files skipped with their reasons).
    :class:`UnreadableInput` for a path that does not exist."""
    from pydicom import dcmread
    from pydicom.errors import InvalidDicomError

    files: list[Path] = []
    for item in map(Path, paths):
        if item.is_dir():
            files.extend(sorted(Path(parent) / name for parent, _, names in os.walk(item) for name in names))
        elif item.is_file():
            files.append(item)
        else:
            raise UnreadableInput(f"{item}: no such file or folder")
    found, skipped = [], []
    for path in files:
        try:
            header = dcmread(path, stop_before_pixels=True, specific_tags=["SOPClassUID", "SOPInstanceUID"])
            sop_class = str(header.file_meta.get("MediaStorageSOPClassUID", "") or header.get("SOPClassUID", ""))
            syntax = str(header.file_meta.get("TransferSyntaxUID", ""))
        except (InvalidDicomError, OSError, ValueError, AttributeError, TypeError) as error:
            skipped.append((path, f"not a DICOM file ({type(error).__name__})"))
            continue
        if path.name == "DICOMDIR" or sop_class == "1.2.840.10008.1.3.10":
            skipped.append((path, "a DICOMDIR (an index of a medium, no image)"))
        elif not sop_class or not syntax:
            skipped.append((path, "no SOP class or transfer syntax in its header"))
        else:
            found.append(OutgoingFile(path, sop_class, syntax))
    return found, skipped
