"""Opening patient timelines from the GUI: files, folders and the bundled samples load in jobs, then show."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QWidget

from medstation.core.timeline import ImportReport, Timeline
from medstation.io.database import StudyDatabase
from medstation.resources import resource_path
from medstation.ui.jobs import Job, JobRunner
from medstation.ui.panels.timeline_panel import TimelinePanel

TIMELINE_FILE_FILTER = (
    "Timelines (*.txt *.csv *.json *.tar.gz *.tgz);;PhysioNet 2012 records (*.txt *.tar.gz *.tgz);;"
    "Long CSV (*.csv);;FHIR bundles (*.json);;All files (*)"
)

TIMELINE_SUFFIXES = (".txt", ".csv", ".json", ".tar.gz", ".tgz")


def is_timeline_file(path: str | Path) -> bool:
    """Whether ``path`` names a timeline file (PhysioNet record or archive, long CSV, FHIR bundle) by its suffix."""
    return Path(path).is_file() and Path(path).name.lower().endswith(TIMELINE_SUFFIXES)


def load_with_studies(
    path: str | Path, database_path: str | Path, progress=None, cancel=None
) -> tuple[list[Timeline], ImportReport]:
    """The timelines in ``path``, with the local database's studies of each patient placed on them as events."""
    from medstation.io.timelines.reading import attach_studies, load_timelines

    timelines, report = load_timelines(path, progress=progress, cancel=cancel)
    with StudyDatabase(database_path) as database:
        attach_studies(timelines, database)
    return timelines, report


def sample_timelines() -> Path:
    """The bundled sample timelines folder."""
    return resource_path("sample", "timelines")


class TimelineOpener(QObject):
    """Loads timelines in a job and hands them to the panel; ``opened(summary)`` says what was read."""

    opened = Signal(str)

    def __init__(self, runner: JobRunner, database: StudyDatabase, panel: TimelinePanel, dialog_parent: QWidget):
        super().__init__(dialog_parent)
        self.runner = runner
        self.database = database
        self.panel = panel
        self.dialog_parent = dialog_parent

    def open_path(self, path: str | Path) -> Job:
        """Open a PhysioNet record file, a folder or ``.tar.gz`` of them, a long CSV or a FHIR bundle."""
        job = self.runner.submit(f"Open timeline {Path(path).name}", load_with_studies, path, self.database.path)
        job.succeeded.connect(lambda result, path=path: self._loaded(Path(path), *result))
        return job

    def open_sample(self) -> Job:
        return self.open_path(sample_timelines())

    def ask_open_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.dialog_parent, "Open a timeline", "", TIMELINE_FILE_FILTER)
        if path:
            self.open_path(path)

    def ask_open_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.dialog_parent, "Open a folder of timelines")
        if folder:
            self.open_path(folder)

    def _loaded(self, path: Path, timelines: list[Timeline], report: ImportReport) -> None:
        self.panel.set_timelines(timelines)
        count = f"{len(timelines)} patient{'s' if len(timelines) != 1 else ''}"
        self.opened.emit(f"Opened {count} from {path.name}: {report.summary()}")
