"""Opening studies from the GUI: files, folders and database series load in jobs, then show in the viewer."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QMimeData, QObject, Signal
from PySide6.QtWidgets import QWidget

from medstation.core.volume import VolumeInfo
from medstation.errors import UnreadableInput, reason_without_path
from medstation.io.database import SeriesRow, StudyDatabase
from medstation.io.dicom.geometry import NO_GEOMETRY_WARNING
from medstation.io.open_study import OpenedStudy, open_files, open_path
from medstation.logs import register_identifiers
from medstation.ui.jobs import Job, JobRunner

log = logging.getLogger(__name__)


def _unknown_study(reference: str, progress=None, cancel=None):
    raise UnreadableInput(
        f"{reference}: no such file or folder, and no study with this UID in the local study database; "
        "import the study's folder (File > Open folder…) and try again"
    )


PROJECTION_MODALITIES = frozenset({"CR", "DX", "IO", "MG", "PX", "RF", "XA"})


DICOM_SUFFIXES = frozenset({".dcm", ".dicom", ".ima"})


def is_image_file_problem(path: str | Path, reason: str) -> bool:
    """True when a skipped file was meant as an image (DICOM, or named like one) but could not be read; False for
    a file of another kind beside the images (a report, a text file, a DICOM object without pixels)."""
    if Path(path).suffix.lower() in DICOM_SUFFIXES:
        return True
    return "not a DICOM file" not in reason and "DICOM without an image" not in reason


def warnings_to_show(opened: OpenedStudy) -> list[str]:
    """What a reader must see before reading, in plain words: the series' warnings and its unreadable images.

    A projection radiograph has no patient geometry by nature: that one stays in the viewer's corner text. Files
    of other kinds beside the images (reports, text files, DICOMDIR-like indexes) are left out quietly; the status
    bar counts them.
    """
    volume = opened.volume
    lines = list(volume.warnings)
    if volume.info.modality.upper() in PROJECTION_MODALITIES:
        lines = [warning for warning in lines if warning != NO_GEOMETRY_WARNING]
    unread = [(path, reason) for path, reason in opened.skipped if is_image_file_problem(path, reason)]
    lines += [f"{Path(path).name} could not be read: {reason_without_path(path, reason)}" for path, reason in unread]
    return lines


def other_files_count(opened: OpenedStudy) -> int:
    """How many files beside the images were not images at all (left out without a warning)."""
    return sum(not is_image_file_problem(path, reason) for path, reason in opened.skipped)


def dropped_paths(mime: QMimeData) -> list[Path]:
    """The local files and folders that exist among dragged URLs (a drag from a web page carries none)."""
    if not mime.hasUrls():
        return []
    paths = [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]
    return [path for path in paths if path.exists()]


class StudyOpener(QObject):
    """Runs the loading jobs and hands each loaded volume to ``opened`` (the window shows its warnings).

    ``path_opened(str)`` names each file or folder that :meth:`open_path` opened and was asked to remember (for
    File > Open recent).
    """

    opened = Signal(object)
    path_opened = Signal(str)

    def __init__(self, runner: JobRunner, database: StudyDatabase, dialog_parent: QWidget):
        super().__init__(dialog_parent)
        self.runner = runner
        self.database = database
        self.dialog_parent = dialog_parent
        self.requested_series: SeriesRow | None = None
        """The database series asked for last (series navigation steps on from it while it loads)."""
        self._stepping: Job | None = None

    def open_path(self, path: str | Path, remember: bool = True) -> Job:
        """Open a folder (indexed into the study database), a DICOM file or a NIfTI/NRRD/MHA file."""
        self.requested_series = None
        job = self.runner.submit(f"Open {Path(path).name}", open_path, path, self.database.path)
        job.succeeded.connect(self._loaded)
        if remember:
            job.succeeded.connect(lambda _opened, path=str(path): self.path_opened.emit(path))
        return job

    def open_paths(self, paths: list[Path]) -> Job:
        """Open dropped paths: one as :meth:`open_path` does; several files as one series (the largest they form);
        a mix with folders, the first of them."""
        if len(paths) > 1 and all(path.is_file() for path in paths):
            self.requested_series = None
            job = self.runner.submit(f"Open {len(paths)} files", open_files, list(paths))
            job.succeeded.connect(self._loaded)
            return job
        return self.open_path(paths[0])

    def open_series(self, row: SeriesRow) -> Job:
        """Open one series listed by the study database."""
        self.requested_series = row
        files = self.database.series_files(row)
        job = self.runner.submit(f"Open series {row.series_number} {row.series_description}".strip(), open_files, files)
        job.succeeded.connect(self._loaded)
        return job

    def open_adjacent_series(self, info: VolumeInfo | None, step: int) -> Job | None:
        """Open the series ``step`` places after the open one (``info``) in its study, in the study browser's order
        (series number), passing over series without images; None at either end, or when the study is not in the
        study database. Steps taken while a series loads count from the one loading, which replaces the one
        before."""
        if info is None or not info.study_uid:
            return None
        rows = [row for row in self.database.series(info.study_uid) if row.images > 0]
        current = self.requested_series
        if current is None or current.study_uid != info.study_uid or current not in rows:
            current = next((row for row in rows if (row.series_uid, row.series_number) == (info.series_uid,
                            info.series_number)), None) or next(
                (row for row in rows if row.series_uid == info.series_uid), None)
        if current is None:
            return None
        index = rows.index(current) + step
        if not 0 <= index < len(rows):
            return None
        if self._stepping is not None:
            self._stepping.cancel()
        self._stepping = self.open_series(rows[index])
        return self._stepping

    def open_reference(self, reference: str) -> Job:
        """Open a study named by a timeline event: a file or folder path, else a StudyInstanceUID in the database."""
        if not Path(reference).exists():
            rows = self.database.series(reference)
            if not rows:
                return self.runner.submit(f"Open study {reference}", _unknown_study, reference)
            return self.open_series(max(rows, key=lambda row: row.images))
        return self.open_path(reference)

    def _loaded(self, opened: OpenedStudy) -> None:
        info = opened.volume.info
        register_identifiers(info.patient_name, info.patient_id)
        log.info(
            "opened series %s (%s)",
            info.series_uid or opened.source.name,
            "x".join(map(str, opened.volume.array.shape)),
        )
        for path, reason in opened.skipped:
            log.info("left out %s: %s", Path(path).name, reason_without_path(path, reason))
        self.opened.emit(opened)
