"""The skeleton the model panels (AI, generator) share: a model picker, a run button with Cancel, the job's progress
and status line, the panel's result area, and a notice at the foot."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLayout,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from medstation.ui.jobs import Job, JobRunner
from medstation.ui.panels.job_status import show_job_status


class ModelPanel(QWidget):
    """A panel that runs one model bundle at a time in a job.

    The panel lists its bundles in a job (``list_title``, ``list_models``), offers the usable ones in ``models``
    (unusable ones greyed out with the reason as tooltip), and runs the chosen one with :meth:`_start_job`. A subclass
    adds its option rows to ``form`` (the model row included), then calls :meth:`_lay_out` with its result widgets;
    it says what it runs and shows in :meth:`_show_models` and :meth:`_can_run`, and extends :meth:`_update_enabled`
    where it has more buttons.
    """

    list_title = ""
    """Title of the job that lists the bundles."""

    def __init__(self, runner: JobRunner, run_text: str, status_text: str, notice: str,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.runner = runner
        self.job: Job | None = None
        self.models = QComboBox()
        self.run_button = QPushButton(run_text)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.status = QLabel(status_text)
        self.status.setWordWrap(True)
        self.notice = QLabel(notice)
        self.notice.setWordWrap(True)
        self.notice.setObjectName("placeholder")
        self.form = QFormLayout()

    def _lay_out(self, result: Sequence[tuple[QWidget | QLayout, int]]) -> QVBoxLayout:
        """Lay the panel out once its ``form`` rows and result widgets exist: the form, the run and Cancel buttons,
        progress, status, the ``(widget or layout, stretch)`` items of ``result``, the notice."""
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button, 1)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(self.form)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        for item, stretch in result:
            if isinstance(item, QLayout):
                layout.addLayout(item, stretch)
            else:
                layout.addWidget(item, stretch)
        layout.addWidget(self.notice)
        return layout

    # models ------------------------------------------------------------------------------------------
    @staticmethod
    def list_models(progress=None, cancel=None) -> list:
        """The installed bundles, run in a job; :meth:`_show_models` receives them."""
        raise NotImplementedError

    def refresh_models(self) -> Job | None:
        """List the installed bundles in a job (their weights are checksummed)."""
        if self.runner.closed:
            return None
        job = self.runner.submit(self.list_title, self.list_models)
        job.succeeded.connect(self._show_models)
        return job

    def _show_models(self, entries: list) -> None:
        raise NotImplementedError

    def _fill_models(self, entries: Sequence[tuple[str, str | None]]) -> None:
        """Offer ``(name, problem)`` bundles in the picker; one with a problem greyed out, the problem its tooltip."""
        self.models.clear()
        for name, problem in entries:
            self.models.addItem(name if problem is None else f"{name} (unusable)", name)
            if problem is not None:
                index = self.models.count() - 1
                self.models.setItemData(index, problem, Qt.ItemDataRole.ToolTipRole)
                self.models.model().item(index).setEnabled(False)

    def _model_usable(self) -> bool:
        """Whether the chosen bundle can run (it is listed without a problem)."""
        index = self.models.currentIndex()
        return index >= 0 and self.models.model().item(index).isEnabled()

    # running -----------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.job is not None and not self.job.state.finished

    def _can_run(self) -> bool:
        """What the panel needs besides a usable model (an open image, ...)."""
        return True

    def _update_enabled(self) -> None:
        self.run_button.setEnabled(self._model_usable() and self._can_run() and not self.running)
        self.cancel_button.setEnabled(self.running)

    def _start_job(self, title: str, function: Callable, *args, on_success: Callable) -> Job:
        """Run ``function(*args)`` in a job: its progress and end in the status line, its result to ``on_success``."""
        self.job = job = self.runner.submit(title, function, *args)
        show_job_status(job, self.progress, self.status)
        job.succeeded.connect(on_success)
        job.finished.connect(self._update_enabled)
        self._update_enabled()
        return job

    def cancel(self) -> None:
        """Cancel the running job, if any."""
        if self.job is not None:
            self.job.cancel()
