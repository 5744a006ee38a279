"""The Batch analysis window: a classifier over a folder of images or a query of the study database, its rows
written to a results file (CSV, JSON Lines or Parquet, resumable) and shown in a table as each chunk arrives.

The work is one job (``ui/jobs.py``) running :func:`run_batch_analysis`: the same engine path as
``medstation classify --results`` (:func:`medstation.engine.classifier.cohort.classify_files` and
:func:`medstation.io.batch_results.open_results`). Each chunk's rows come back to the GUI thread through a queued
signal; the table takes them without blocking. Cancel stops the job between chunks and leaves the results file
unfinished (``RESULTS.partial``, or a Parquet file's ``RESULTS.parts`` folder), to be continued with "Resume". In
the workstation the images are decoded in the job's own thread, not in worker processes: forking a process that
runs Qt's threads is not safe. Double-clicking a row opens its image in the viewer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from medstation.errors import MedStationError
from medstation.ui.jobs import Job, JobRunner

PATH_ROLE = Qt.ItemDataRole.UserRole
"""A row's first cell holds the image path here."""


@dataclass(frozen=True)
class BatchRequest:
    """What the user asked for: a folder, or (``folder`` None) the database query; the model; the results file."""

    model: str
    folder: Path | None = None
    modality: str = ""
    since: str = ""
    until: str = ""
    results: Path | None = None
    resume: bool = False
    database_path: Path | None = None


@dataclass
class BatchOutcome:
    model: str
    labels: tuple[str, ...]
    images: int
    classified_now: int
    resumed: int
    skipped: list[tuple[str, str]]
    results: Path | None


def request_images(request: BatchRequest) -> tuple[list[Path], str]:
    """The image files a request selects, and the input in words (what a results file's job records)."""
    from medstation.engine.classifier.cohort import database_images, describe_query
    from medstation.io.images import image_files_in

    if request.folder is not None:
        if not request.folder.is_dir():
            raise MedStationError(f"{request.folder}: not a folder")
        return image_files_in(request.folder), str(request.folder.resolve())
    query = (request.modality or None, request.since or None, request.until or None)
    paths = database_images(*query, database_path=request.database_path)
    if not paths:
        raise MedStationError(f"the study database holds no {describe_query(*query)}")
    return paths, f"database: {describe_query(*query)}"


def run_batch_analysis(request: BatchRequest, on_started: Callable[[tuple[str, ...]], None],
                       on_rows: Callable[[list[dict[str, Any]]], None], progress=None, cancel=None) -> BatchOutcome:
    """Classify what ``request`` selects, writing its results file as ``classify --results`` does; ``on_started``
    receives the model's labels, ``on_rows`` each chunk's rows (called in this worker thread)."""
    from medstation.engine.classifier import load_classifier
    from medstation.engine.classifier.cohort import CHUNK, RESULT_COLUMNS, classify_files
    from medstation.io.batch_results import open_results, results_format

    if request.results is not None:
        results_format(request.results)
        if request.folder is not None and request.folder.resolve() in request.results.resolve().parents:
            raise MedStationError(f"{request.results}: inside the input folder {request.folder}, which is never "
                                  "changed; choose another results file")
    paths, source = request_images(request)
    classifier = load_classifier(request.model)
    on_started(classifier.labels)
    skipped: list[tuple[str, str]] = []
    options = {"chunk_size": CHUNK, "workers": 0, "progress": progress, "cancel": cancel,
               "on_skipped": lambda key, reason: skipped.append((key, reason))}
    if request.results is None:
        summary = classify_files(classifier, paths, on_rows, **options)
    else:
        job = {"model": classifier.name, "weights_sha256": classifier.bundle.metadata.document["weights"]["sha256"],
               "input": source, "chunk": CHUNK}
        keys = [str(path) for path in paths]
        with open_results(request.results, "path", RESULT_COLUMNS, job, keys, resume=request.resume) as writer:
            def write(rows: list[dict[str, Any]]) -> None:
                writer.write(rows)
                on_rows(rows)

            summary = classify_files(classifier, paths, write, done=writer.done, **options)
    return BatchOutcome(classifier.name, classifier.labels, summary.ran + summary.done_before, summary.ran,
                        summary.done_before, skipped, request.results)


class BatchWindow(QWidget):
    """A window of its own; ``image_requested`` asks the workstation to open an image (a double-clicked row)."""

    image_requested = Signal(object)
    rows_arrived = Signal(object)
    labels_known = Signal(object)

    def __init__(self, runner: JobRunner, database_path: Path | None = None, parent: QWidget | None = None):
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("MedStation — Batch analysis")
        self.resize(1000, 640)
        self.runner = runner
        self.database_path = database_path
        self.job: Job | None = None
        self.labels: tuple[str, ...] = ()
        self.rows_arrived.connect(self.add_rows)
        self.labels_known.connect(self._set_columns)

        self.from_folder = QRadioButton("Folder")
        self.from_database = QRadioButton("Study database")
        self.source = QButtonGroup(self)
        for button in (self.from_folder, self.from_database):
            self.source.addButton(button)
        self.from_folder.setChecked(True)
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("a folder of DICOM, PNG, JPEG or NIfTI images")
        self.folder.returnPressed.connect(self.start)
        self.folder.setFocus()
        folder_row = self._row(self.from_folder, self.folder, self._button("Browse…", self.ask_folder))
        self.modality = QLineEdit()
        self.modality.setPlaceholderText("modality (CR, DX, …): any")
        self.since = QLineEdit()
        self.since.setPlaceholderText("from YYYY-MM-DD")
        self.until = QLineEdit()
        self.until.setPlaceholderText("to YYYY-MM-DD")
        database_row = self._row(self.from_database, self.modality, self.since, self.until)
        self.model = QComboBox()
        self._fill_models()
        self.results_file = QLineEdit()
        self.results_file.setPlaceholderText("results .csv, .jsonl or .parquet (optional: the table only)")
        self.resume = QCheckBox("Resume an unfinished file")
        results_row = self._row(self.results_file, self._button("Choose…", self.ask_results_file), self.resume)
        form = QFormLayout()
        form.addRow("Images", folder_row)
        form.addRow("", database_row)
        form.addRow("Model", self.model)
        form.addRow("Results", results_row)

        self.start_button = self._button("Start", self.start)
        self.cancel_button = self._button("Cancel", self.cancel)
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.status = QLabel("Choose the images, a model and a results file, then Start.")
        self.status.setWordWrap(True)
        controls = self._row(self.start_button, self.cancel_button, self.progress)

        self.table = QTableWidget(0, 2)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.itemDoubleClicked.connect(self._row_activated)
        self._set_columns(())

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(controls)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 1)

    # building ------------------------------------------------------------------------------------------
    def _row(self, *widgets: QWidget) -> QWidget:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in widgets:
            layout.addWidget(widget, 1 if isinstance(widget, QLineEdit | QProgressBar) else 0)
        return row

    def _button(self, text: str, slot) -> QPushButton:
        button = QPushButton(text)
        button.clicked.connect(lambda: slot())
        return button

    def _fill_models(self) -> None:
        from medstation.engine.families import FAMILIES

        family = FAMILIES["classifier"]
        for entry in family.bundles():
            if entry.problem is None:
                self.model.addItem(entry.name, str(entry.location))
        index = self.model.findText(family.shipped)
        self.model.setCurrentIndex(max(index, 0))

    def _set_columns(self, labels: tuple[str, ...]) -> None:
        self.labels = tuple(labels)
        headers = ["Image", "Prediction", *(f"p({label})" for label in self.labels)]
        self.table.setColumnCount(len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(headers)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)

    # asking --------------------------------------------------------------------------------------------
    def ask_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder of images", self.folder.text())
        if folder:
            self.folder.setText(folder)
            self.from_folder.setChecked(True)

    def ask_results_file(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Results file", self.results_file.text() or "results.csv",
                                              "CSV (*.csv);;JSON Lines (*.jsonl);;Parquet (*.parquet)",
                                              options=QFileDialog.Option.DontConfirmOverwrite)
        if path:
            self.results_file.setText(path)

    def request(self) -> BatchRequest:
        """The request the form describes; MedStationError when it is incomplete."""
        if self.model.currentIndex() < 0:
            raise MedStationError("no valid classifier is installed")
        results = Path(self.results_file.text().strip()) if self.results_file.text().strip() else None
        common = {"model": self.model.currentData(), "results": results, "resume": self.resume.isChecked(),
                  "database_path": self.database_path}
        if self.from_folder.isChecked():
            if not self.folder.text().strip():
                raise MedStationError("choose a folder of images")
            return BatchRequest(folder=Path(self.folder.text().strip()), **common)
        return BatchRequest(modality=self.modality.text().strip(), since=self.since.text().strip(),
                            until=self.until.text().strip(), **common)

    # running -------------------------------------------------------------------------------------------
    def start(self) -> Job | None:
        """Start the job the form describes (nothing when one runs); the table is emptied first."""
        if self.job is not None and not self.job.state.finished:
            return None
        try:
            request = self.request()
        except MedStationError as error:
            self.status.setText(str(error))
            return None
        self.table.setRowCount(0)
        self.progress.setValue(0)
        self.status.setText("Starting…")
        self.job = self.runner.submit("Batch analysis", run_batch_analysis, request, self.labels_known.emit,
                                      self.rows_arrived.emit)
        self.job.progressed.connect(self._progressed)
        self.job.succeeded.connect(self._succeeded)
        self.job.failed.connect(self._failed)
        self.job.cancelled.connect(self._cancelled)
        self.job.finished.connect(self._finished)
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        return self.job

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.status.setText("Cancelling after the current chunk…")

    def add_rows(self, rows: list[dict[str, Any]]) -> None:
        """Append one chunk's rows to the table (GUI thread)."""
        self.table.setUpdatesEnabled(False)
        start = self.table.rowCount()
        self.table.setRowCount(start + len(rows))
        for offset, row in enumerate(rows):
            name = QTableWidgetItem(Path(row["path"]).name)
            name.setData(PATH_ROLE, row["path"])
            name.setToolTip(row["path"])
            cells = [name, QTableWidgetItem(row["prediction"])]
            for label in self.labels:
                value = row["probabilities"].get(label)
                item = QTableWidgetItem("" if value is None else f"{value:.3f}")
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                cells.append(item)
            for column, item in enumerate(cells):
                self.table.setItem(start + offset, column, item)
        self.table.setUpdatesEnabled(True)

    def _row_activated(self, item: QTableWidgetItem) -> None:
        path = self.table.item(item.row(), 0).data(PATH_ROLE)
        self.image_requested.emit(Path(path))

    def _progressed(self, fraction: float, message: str) -> None:
        self.progress.setValue(round(1000 * fraction))
        self.status.setText(f"Classifying: {message}")

    def _succeeded(self, outcome: BatchOutcome) -> None:
        self.progress.setValue(1000)
        written = f", written to {outcome.results}" if outcome.results is not None else ""
        resumed = f" ({outcome.resumed} from before, not shown)" if outcome.resumed else ""
        skipped = f"; {len(outcome.skipped)} skipped (first: {outcome.skipped[0][0]}: {outcome.skipped[0][1]})" \
            if outcome.skipped else ""
        self.status.setText(f"{outcome.images} images classified by {outcome.model}{resumed}{written}{skipped}")

    def _failed(self, error: BaseException) -> None:
        self.status.setText(str(error) if isinstance(error, MedStationError) else f"Failed: {error}")

    def _cancelled(self) -> None:
        file = self.results_file.text().strip()
        kept = f"; {file}.partial keeps what was written, tick Resume to continue it" if file else ""
        self.status.setText(f"Cancelled after {self.table.rowCount()} images{kept}")

    def _finished(self) -> None:
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.job is not None and not self.job.state.finished:
            self.job.cancel()
        event.accept()
