"""The jobs panel: running and finished jobs with progress, status and a cancel button."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from medstation.ui.jobs import Job, JobRunner, JobState

COLUMNS = ["Job", "Status", "Progress", "Time", ""]


class _JobRow:
    """One job's row and its widgets."""

    def __init__(self, tree: QTreeWidget, job: Job):
        self.job = job
        self.item = QTreeWidgetItem([job.title, job.state.value, "", "", ""])
        tree.addTopLevelItem(self.item)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setFormat("%p%")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(job.cancel)
        tree.setItemWidget(self.item, 2, self.bar)
        tree.setItemWidget(self.item, 4, self.cancel_button)
        job.progressed.connect(self.show_progress)
        job.state_changed.connect(self.show_state)

    def show_progress(self, fraction: float, message: str) -> None:
        self.bar.setValue(round(1000 * fraction))
        self.item.setToolTip(0, message)
        self.item.setText(1, message or self.job.state.value)

    def show_state(self, state: JobState) -> None:
        text = state.value
        if state is JobState.FAILED and self.job.error is not None:
            text = f"failed: {self.job.error}"
        self.item.setText(1, text)
        self.item.setToolTip(1, text)
        if state is JobState.SUCCEEDED:
            self.bar.setValue(1000)
        self.cancel_button.setEnabled(not state.finished)
        self.show_time()

    def show_time(self) -> None:
        self.item.setText(3, f"{self.job.elapsed():.1f} s")


class JobsPanel(QWidget):
    def __init__(self, runner: JobRunner, parent: QWidget | None = None):
        super().__init__(parent)
        self.runner = runner
        self.rows: list[_JobRow] = []
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.clear_button = QPushButton("Clear finished")
        self.clear_button.clicked.connect(self.clear_finished)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.clear_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.tree)
        layout.addLayout(buttons)
        self._clock = QTimer(self)
        self._clock.setInterval(500)
        self._clock.timeout.connect(self._tick)
        self._clock.start()
        runner.job_added.connect(self.add_job)

    def add_job(self, job: Job) -> None:
        self.rows.append(_JobRow(self.tree, job))

    def clear_finished(self) -> None:
        for row in [r for r in self.rows if r.job.state.finished]:
            self.tree.takeTopLevelItem(self.tree.indexOfTopLevelItem(row.item))
            self.rows.remove(row)
        self.runner.forget_finished()

    def _tick(self) -> None:
        for row in self.rows:
            if row.job.state is JobState.RUNNING:
                row.show_time()
