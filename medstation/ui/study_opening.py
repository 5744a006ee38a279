"""Opening studies from the GUI: files, folders and database series load in jobs, then show in the viewer."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from medstation.errors import UnreadableInput, reason_without_path
from medstation.io.database import SeriesRow, StudyDatabase
from medstation.io.dicom.geometry import NO_GEOMETRY_WARNING
from medstation.io.open_study import OpenedStudy, open_files, open_path
from medstation.logs import register_identifiers
from medstation.ui.jobs import Job, JobRunner

log = logging.getLogger(__name__)
MAX_LISTED = 12


def _unknown_study(reference: str, progress=None, cancel=None):
    raise UnreadableInput(
        f"{reference}: no such file or folder, and no study with this UID in the local study database; "
        "import the study's folder (File > Open folder…) and try again"
    )


def _listing(lines: list[str]) -> str:
    shown = lines[:MAX_LISTED]
    if len(lines) > MAX_LISTED:
        shown.append(f"… and {len(lines) - MAX_LISTED} more")
    return "\n".join(f"• {line}" for line in shown)


PROJECTION_MODALITIES = frozenset({"CR", "DX", "IO", "MG", "PX", "RF", "XA"})


def worth_a_dialog(opened: OpenedStudy) -> list[str]:
    """The series' warnings a reader must see before reading. A projection radiograph has no patient geometry by
    nature: that one stays in the viewer's corner text and raises no dialog."""
    volume = opened.volume
    if volume.info.modality.upper() in PROJECTION_MODALITIES:
        return [warning for warning in volume.warnings if warning != NO_GEOMETRY_WARNING]
    return list(volume.warnings)


class StudyOpener(QObject):
    """Runs the loading jobs and hands each loaded volume to ``opened``; warnings go to a dialog."""

    opened = Signal(object)

    def __init__(self, runner: JobRunner, database: StudyDatabase, dialog_parent: QWidget):
        super().__init__(dialog_parent)
        self.runner = runner
        self.database = database
        self.dialog_parent = dialog_parent
        self.warning_dialogs: list[QMessageBox] = []

    def open_path(self, path: str | Path) -> Job:
        """Open a folder (indexed into the study database), a DICOM file or a NIfTI/NRRD/MHA file."""
        job = self.runner.submit(f"Open {Path(path).name}", open_path, path, self.database.path)
        job.succeeded.connect(self._loaded)
        return job

    def open_series(self, row: SeriesRow) -> Job:
        """Open one series listed by the study database."""
        files = self.database.series_files(row)
        job = self.runner.submit(f"Open series {row.series_number} {row.series_description}".strip(), open_files, files)
        job.succeeded.connect(self._loaded)
        return job

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
        self.opened.emit(opened)
        if worth_a_dialog(opened) or opened.skipped:
            self.show_warnings(opened)

    def show_warnings(self, opened: OpenedStudy) -> QMessageBox:
        """A non-modal dialog listing geometry warnings and skipped files, so nothing is trusted blindly."""
        sections = []
        problems = worth_a_dialog(opened)
        if problems:
            sections.append("Check before reading:\n" + _listing(problems))
        if opened.skipped:
            unread = [f"{Path(path).name}: {reason_without_path(path, reason)}" for path, reason in opened.skipped]
            sections.append(f"{len(opened.skipped)} file(s) could not be read:\n" + _listing(unread))
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Series warnings",
            "\n\n".join(sections),
            QMessageBox.StandardButton.Ok,
            self.dialog_parent,
        )
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(lambda _=None, box=box: self.warning_dialogs.remove(box))
        self.warning_dialogs.append(box)
        box.open()
        return box
