"""Open a path as a Volume: one set of rules for the workstation and every command.

:func:`open_image` reads any format of :data:`medstation.io.formats.IMAGE_FORMATS`: a volume file, a picture, or
DICOM (a file, a DICOMDIR or a folder: the series asked for, else the largest, with the files skipped on the way).
:func:`open_path` is the workstation's File > Open: a folder is indexed into the study database first.
:func:`open_files` loads one series the study database lists.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from medstation.core.volume import Volume
from medstation.errors import UnreadableInput
from medstation.io.database import ImportReport, StudyDatabase
from medstation.io.formats import PILLOW, PYDICOM, format_of
from medstation.progress import CancelToken, ProgressCallback, report


@dataclass
class OpenedStudy:
    """A loaded volume, where it came from, and the files that could not be read on the way."""

    volume: Volume
    source: Path
    skipped: list[tuple[str, str]]
    imported: ImportReport | None = None


def open_image(
    path: str | os.PathLike,
    series: str | int | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken = None,
    on_skipped: Callable[[list[tuple[str, str]]], None] | None = None,
) -> OpenedStudy:
    """Open ``path`` as a Volume, its format told by :func:`~medstation.io.formats.format_of`.

    Parameters
    ----------
    path
        A volume file (NIfTI, Analyze, MGH, NRRD, MetaImage), a picture (one slice, no patient geometry), or DICOM:
        a file, a DICOMDIR or a folder searched recursively.
    series
        DICOM only: the series' number, ``N.P`` for part P of a split series, or its SeriesInstanceUID; default
        the series with the most voxels.
    progress, cancel
        Progress callback ``(fraction, message)`` and cancel token, checked between files.
    on_skipped
        Called with the DICOM files that could not be read, ``(path, reason)``, once the scan is done and before
        a series is chosen, so they can be named even when no series loads.

    Raises
    ------
    UnreadableInput
        Naming ``path``: it does not exist, it cannot be read as its format, no DICOM image series was found, or
        none matches ``series``.
    """
    source = Path(path)
    if not source.exists():
        raise UnreadableInput(f"{source}: no such file or folder")
    reader = format_of(source).reader
    if reader != PYDICOM:
        report(progress, 0.1, f"reading {source.name}")
        if reader == PILLOW:
            from medstation.io.images import read_picture

            return OpenedStudy(read_picture(source), source, [])
        from medstation.io.nifti import read_volume

        return OpenedStudy(read_volume(source), source, [])
    from medstation.io.dicom.series import load_series, scan_dicom
    from medstation.io.dicom.series_selection import select_series

    scan = scan_dicom(source, lambda f, m: report(progress, 0.3 * f, m), cancel)
    skipped = [(str(file), reason) for file, reason in scan.skipped]
    if on_skipped is not None:
        on_skipped(skipped)
    chosen = select_series(scan, None if series is None else str(series), str(source))
    volume = load_series(chosen, lambda f, m: report(progress, 0.3 + 0.7 * f, m), cancel)
    return OpenedStudy(volume, source, skipped)


def open_path(
    path: str | os.PathLike,
    database_path: str | os.PathLike | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken = None,
) -> OpenedStudy:
    """Open a file as :func:`open_image` does; a folder is indexed into the study database first, then its
    largest image series loaded (damaged files skipped and listed)."""
    source = Path(path)
    if not source.is_dir():
        return open_image(source, progress=progress, cancel=cancel)
    with StudyDatabase(database_path) as database:
        imported = database.import_folder(source, lambda f, m: report(progress, 0.3 * f, m), cancel)
    opened = open_image(source, progress=lambda f, m: report(progress, 0.3 + 0.7 * f, m), cancel=cancel)
    opened.imported = imported
    return opened


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
