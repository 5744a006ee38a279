"""Open studies the way the workstation does: index a folder by reference, then load a series."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from medstation.core.volume import Volume
from medstation.errors import UnreadableInput
from medstation.io.database import ImportReport, StudyDatabase
from medstation.io.formats import is_volume_file
from medstation.progress import CancelToken, ProgressCallback, report


@dataclass
class OpenedStudy:
    """A loaded volume, where it came from, and the files that could not be read on the way."""

    volume: Volume
    source: Path
    skipped: list[tuple[str, str]]
    imported: ImportReport | None = None


def open_path(
    path: str | os.PathLike,
    database_path: str | os.PathLike | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken = None,
) -> OpenedStudy:
    """Open a NIfTI/NRRD/MHA file, a DICOM file, or a DICOM folder (indexed into the study database first).

    A folder's largest image series is loaded; damaged files are skipped and listed.
    """
    source = Path(path)
    if is_volume_file(source):
        from medstation.io.nifti import read_volume

        report(progress, 0.1, f"reading {source.name}")
        return OpenedStudy(read_volume(source), source, [])
    imported = None
    if source.is_dir():
        with StudyDatabase(database_path) as database:
            imported = database.import_folder(source, lambda f, m: report(progress, 0.3 * f, m), cancel)
    from medstation.io.dicom.series import largest_series, load_series, scan_dicom

    scan = scan_dicom(source, lambda f, m: report(progress, 0.3 + 0.2 * f, m), cancel)
    volume = load_series(largest_series(scan), lambda f, m: report(progress, 0.5 + 0.5 * f, m), cancel)
    skipped = [(str(p), reason) for p, reason in scan.skipped]
    return OpenedStudy(volume, source, skipped, imported)


def open_files(
    paths: list[Path], progress: ProgressCallback | None = None, cancel: CancelToken = None
) -> OpenedStudy:
    """Load the largest image series formed by ``paths`` (one series' files, as the study database lists them)."""
    from medstation.io.dicom.scan import scan_files
    from medstation.io.dicom.series import largest_series, load_series

    if not paths:
        raise UnreadableInput("the series has no files left in the study database; import its folder again")
    scan = scan_files(paths, lambda f, m: report(progress, 0.3 * f, m), cancel)
    volume = load_series(largest_series(scan), lambda f, m: report(progress, 0.3 + 0.7 * f, m), cancel)
    return OpenedStudy(volume, paths[0].parent, [(str(p), reason) for p, reason in scan.skipped])
