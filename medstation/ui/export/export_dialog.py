"""File > Export…: choose what leaves the workstation and where; it runs as a job with progress and Cancel.

What is open is taken when Export is pressed (:class:`~medstation.ui.export.tasks.Reading`), so measurements and
key images added while the dialog is open count. A task that would replace a file, or include an image that may
show identity in its pixels, comes back with a question; the dialog asks it (a message box that does not block the
window) and runs the task again only after a yes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from medstation.ui.export.tasks import AI_PARTS, SERIES_KINDS, Exported, ExportTask, Question, Reading, run_task
from medstation.ui.jobs import Job, JobRunner
from medstation.ui.panels.job_status import show_job_status

KINDS = {
    "dicom": "DICOM series, as it is",
    "deidentified": "De-identified DICOM series",
    "nifti": "NIfTI volume",
    "png": "PNG slices",
    "pdf": "PDF report",
    "ai": "AI result as DICOM (SR, Parametric Map, SEG, overlay)",
    "kos": "Key images (Key Object Selection)",
    "pacs": "Send to a PACS node",
}
PART_LABELS = {"sr": "Report (TID 1500 SR): result and measurements", "pm": "Saliency as Parametric Map",
               "seg": "Saliency above its threshold as SEG", "sc": "Overlay as secondary capture (this image)"}
FILE_KINDS = {"pdf": ("report.pdf", "PDF (*.pdf)"), "kos": ("key-images.dcm", "DICOM (*.dcm)")}
DEFAULT_FOLDER = Path.home() / "MedStation exports"


class ExportDialog(QDialog):
    """The export dialog. ``current_reading()`` gives what is open (None when nothing is); ``nodes`` the PACS
    nodes to offer; ``ask_secret(node)`` makes sure a node's password is known before sending.

    ``exported(Exported)`` follows each finished export.
    """

    exported = Signal(object)

    def __init__(self, runner: JobRunner, current_reading: Callable[[], Reading | None], nodes: list,
                 ask_secret: Callable[[object], bool] | None = None, kind: str = "dicom",
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Export")
        self.runner = runner
        self.current_reading = current_reading
        self.ask_secret = ask_secret
        self.job: Job | None = None
        self.question: QMessageBox | None = None
        self.last_result: Exported | None = None
        self.kind = QComboBox()
        for key, text in KINDS.items():
            self.kind.addItem(text, key)
        self.target = QLineEdit()
        self.browse_button = QPushButton("Choose…")
        self.browse_button.clicked.connect(self.choose_target)
        target_row = QHBoxLayout()
        target_row.addWidget(self.target, 1)
        target_row.addWidget(self.browse_button)
        self.node = QComboBox()
        for node in nodes:
            self.node.addItem(str(node), node)
        self.deidentify = QCheckBox("De-identify before sending")
        self.keep_dates = QCheckBox("Keep dates (else shifted by a per-patient offset)")
        self.reader = QLineEdit()
        self.reader.setPlaceholderText("Family^Given")
        self.parts = {part: QCheckBox(PART_LABELS[part]) for part in AI_PARTS}
        parts_box = QVBoxLayout()
        for box in self.parts.values():
            box.setChecked(True)
            parts_box.addWidget(box)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.note.setObjectName("placeholder")
        self.form = QFormLayout()
        self.form.addRow("Export", self.kind)
        self.form.addRow("To", target_row)
        self.form.addRow("PACS node", self.node)
        self.form.addRow("", self.deidentify)
        self.form.addRow("", self.keep_dates)
        self.form.addRow("Objects", parts_box)
        self.form.addRow("Reader", self.reader)
        self.form.addRow("", self.note)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.hide()
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.export_button = QPushButton("Export")
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        close_button = QPushButton("Close")
        close_button.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for button in (self.export_button, self.cancel_button, close_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.deidentify.toggled.connect(self._kind_changed)
        self.set_kind(kind)
        self.resize(560, self.sizeHint().height())

    # what and where ----------------------------------------------------------------------------------
    def set_kind(self, kind: str) -> None:
        """Show ``kind`` (a key of :data:`KINDS`); anything else keeps the kind shown (else the first)."""
        index = self.kind.findData(kind) if kind in KINDS else -1
        self.kind.setCurrentIndex(index if index >= 0 else max(self.kind.currentIndex(), 0))
        self._kind_changed()

    def current_kind(self) -> str:
        return self.kind.currentData()

    def _kind_changed(self, *_) -> None:
        kind = self.current_kind()
        self.form.setRowVisible(1, kind != "pacs")
        self.form.setRowVisible(2, kind == "pacs")
        self.form.setRowVisible(3, kind == "pacs")
        self.form.setRowVisible(4, kind == "deidentified" or (kind == "pacs" and self.deidentify.isChecked()))
        self.form.setRowVisible(5, kind == "ai")
        self.form.setRowVisible(6, kind in ("pdf", "ai", "kos"))
        self.target.setText(str(self._default_target(kind, self.target.text())))
        self.note.setText(self._note(kind))
        self._update_enabled()
        self.layout().activate()
        if self.height() < self.sizeHint().height():  # a row shown: grow, so no line is cut off
            self.resize(self.width(), self.sizeHint().height())

    def _default_target(self, kind: str, typed: str) -> Path:
        """The folder typed so far (or the default one), with the file name a file kind writes."""
        folder = Path(typed).expanduser() if typed.strip() else DEFAULT_FOLDER
        if typed.strip() and Path(typed).suffix.lower() in (".pdf", ".dcm"):
            folder = folder.parent
        return folder / FILE_KINDS[kind][0] if kind in FILE_KINDS else folder

    def _note(self, kind: str) -> str:
        reading = self.current_reading()
        if reading is None:
            return "Open a series to export it."
        if kind in SERIES_KINDS or kind == "pacs":
            name = reading.volume.info.series_description or reading.source.name
            return f"The open series ({name}); an existing output is replaced only after you confirm."
        if kind == "pdf":
            pages = len(reading.key_slices())
            result = "with the AI result" if reading.analysis is not None else "without an AI result (not classified)"
            return f"{pages} page{'s' if pages != 1 else ''} (key images, else this image), {result}."
        if kind == "ai":
            return ("The AI panel's last result and saliency map of this image, and its measurements."
                    if reading.analysis is not None else "Classify the image in the AI panel first (the report can "
                    "still hold its measurements).")
        flagged = len(reading.key_images)
        return f"{flagged} key image{'s' if flagged != 1 else ''} flagged (Tools > Flag as key image, K)."

    def choose_target(self) -> None:
        kind = self.current_kind()
        if kind in FILE_KINDS:
            name, pattern = FILE_KINDS[kind]
            path, _ = QFileDialog.getSaveFileName(self, "Export to", self.target.text() or name, pattern,
                                                  options=QFileDialog.Option.DontConfirmOverwrite)
        else:
            path = QFileDialog.getExistingDirectory(self, "Export into folder", self.target.text())
        if path:
            self.target.setText(path)

    def task(self) -> ExportTask | None:
        """The export the dialog describes, with what is open now (None when nothing is)."""
        reading = self.current_reading()
        if reading is None:
            return None
        kind = self.current_kind()
        return ExportTask(kind, reading, None if kind == "pacs" else Path(self.target.text().strip()),
                          keep_dates=self.keep_dates.isChecked(), reader=self.reader.text().strip(),
                          parts=tuple(part for part, box in self.parts.items() if box.isChecked()),
                          node=self.node.currentData(), deidentify=self.deidentify.isChecked())

    # running -----------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.job is not None and not self.job.state.finished

    def _update_enabled(self) -> None:
        asking = self.question is not None
        self.export_button.setEnabled(not self.running and not asking and self.current_reading() is not None)
        self.cancel_button.setEnabled(self.running)

    def start(self) -> Job | None:
        """Run the export the dialog describes as a job."""
        task = self.task()
        if task is None:
            self.status.setText("Open a series to export it.")
            return None
        if task.kind == "pacs" and task.node is not None and self.ask_secret is not None \
                and not self.ask_secret(task.node):
            self.status.setText("Not sent: the node needs a password or token.")
            return None
        return self.submit(task)

    def submit(self, task: ExportTask) -> Job:
        self.progress.show()
        self.progress.setValue(0)
        self.status.setText("Starting…")
        self.job = job = self.runner.submit(f"Export: {KINDS[task.kind]}", run_task, task)
        show_job_status(job, self.progress, self.status)
        job.succeeded.connect(lambda result, task=task: self._finished(task, result))
        job.finished.connect(self._update_enabled)
        self._update_enabled()
        return job

    def _finished(self, task: ExportTask, result: Exported | Question) -> None:
        if isinstance(result, Question):
            self.progress.setValue(0)
            self.status.setText("Waiting for your answer…")
            self._ask(task, result)
            return
        self.last_result = result
        self.progress.setValue(1000)
        self.status.setText(result.summary)
        self.exported.emit(result)

    def _ask(self, task: ExportTask, question: Question) -> None:
        title = "Replace?" if question.kind == "replace" else "Burned-in annotation"
        box = QMessageBox(QMessageBox.Icon.Question, title, question.text,
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        box.setDefaultButton(QMessageBox.StandardButton.No)
        box.finished.connect(lambda _result, task=task, question=question: self._answered(task, question))
        self.question = box
        self._update_enabled()
        box.open()

    def _answered(self, task: ExportTask, question: Question) -> None:
        box, self.question = self.question, None
        yes = box.standardButton(box.clickedButton()) == QMessageBox.StandardButton.Yes
        box.deleteLater()
        if yes:
            self.submit(question.answered_yes(task))
        else:
            self.status.setText("Nothing was written." if question.kind == "replace"
                                else "Not exported: images that may show identity were not to be included.")
            self._update_enabled()

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
