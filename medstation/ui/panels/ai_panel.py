"""The AI panel: choose a classifier bundle, read its card, run it on the open image, see why."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from medstation.engine.classifier.analysis import ImageAnalysis, analyse_image
from medstation.engine.saliency import METHOD_LABELS
from medstation.ui.dialogs.model_card import show_model_card
from medstation.ui.jobs import Job, JobRunner
from medstation.ui.panels.job_status import show_job_status

NO_SALIENCY = "none"
SALIENCY_METHODS = {**METHOD_LABELS, NO_SALIENCY: "No saliency map"}
DISCLAIMER = "Decision support for trained readers, not a diagnosis. Read the model card before trusting it."


def _list_classifiers(progress=None, cancel=None) -> list[tuple[str, str | None]]:
    """(name, problem) of every classifier bundle, and of every unreadable one; problem is None for a usable one."""
    from medstation.engine.families import FAMILIES

    return [(entry.name, entry.problem) for entry in FAMILIES["classifier"].bundles(unreadable=True)]


class AIPanel(QWidget):
    """Runs :func:`analyse_image` in a job and reports the probabilities and the saliency map."""

    analysed = Signal(object)

    def __init__(self, runner: JobRunner, parent: QWidget | None = None):
        super().__init__(parent)
        self.runner = runner
        self.volume = None
        self.models = QComboBox()
        self.card_button = QPushButton("Model card…")
        self.card_button.clicked.connect(self.show_card)
        self.method = QComboBox()
        for key, text in SALIENCY_METHODS.items():
            self.method.addItem(text, key)
        self.run_button = QPushButton("Classify the open image")
        self.run_button.clicked.connect(self.run)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.status = QLabel("Open an image to classify it.")
        self.status.setWordWrap(True)
        self.results = QTableWidget(0, 2)
        self.results.setHorizontalHeaderLabels(["Label", "Probability"])
        self.results.verticalHeader().hide()
        self.results.horizontalHeader().setStretchLastSection(True)
        self.faithfulness = QLabel("")
        self.faithfulness.setWordWrap(True)
        disclaimer = QLabel(DISCLAIMER)
        disclaimer.setWordWrap(True)
        disclaimer.setObjectName("placeholder")
        model_row = QHBoxLayout()
        model_row.addWidget(self.models, 1)
        model_row.addWidget(self.card_button)
        form = QFormLayout()
        form.addRow("Model", model_row)
        form.addRow("Saliency", self.method)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button, 1)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.results)
        layout.addWidget(self.faithfulness)
        layout.addWidget(disclaimer)
        layout.addStretch(1)
        self.job: Job | None = None
        self._update_enabled()

    def refresh_models(self) -> Job | None:
        """List the installed classifier bundles in a job (their weights are checksummed)."""
        if self.runner.closed:
            return None
        job = self.runner.submit("List AI models", _list_classifiers)
        job.succeeded.connect(self._show_models)
        return job

    def _show_models(self, entries: list[tuple[str, str | None]]) -> None:
        self.models.clear()
        for name, problem in entries:
            self.models.addItem(name if problem is None else f"{name} (unusable)", name)
            if problem is not None:
                self.models.setItemData(self.models.count() - 1, problem, Qt.ItemDataRole.ToolTipRole)
                self.models.model().item(self.models.count() - 1).setEnabled(False)
        if not entries:
            self.status.setText("No classifier bundle is installed (see 'medstation models').")
        self._update_enabled()

    def set_volume(self, volume) -> None:
        """The image the next run classifies (None when nothing is open)."""
        self.volume = volume
        self.results.setRowCount(0)
        self.faithfulness.setText("")
        self.status.setText("Ready to classify." if volume is not None else "Open an image to classify it.")
        self._update_enabled()

    def _update_enabled(self) -> None:
        usable = self.models.currentIndex() >= 0 and self.models.model().item(self.models.currentIndex()).isEnabled()
        running = self.job is not None and not self.job.state.finished
        self.run_button.setEnabled(usable and self.volume is not None and not running)
        self.card_button.setEnabled(usable)
        self.cancel_button.setEnabled(running)

    def run(self) -> Job:
        method = self.method.currentData()
        self.job = job = self.runner.submit(
            f"Classify with {self.models.currentData()}",
            analyse_image,
            self.models.currentData(),
            self.volume,
            None if method == NO_SALIENCY else method,
        )
        self.cancel_button.clicked.connect(job.cancel)
        show_job_status(job, self.progress, self.status)
        job.succeeded.connect(self._show_analysis)
        job.finished.connect(self._job_finished)
        self._update_enabled()
        return job

    def _job_finished(self) -> None:
        self.cancel_button.clicked.disconnect()
        self._update_enabled()

    def _show_analysis(self, analysis: ImageAnalysis) -> None:
        probabilities = analysis.prediction.probabilities
        self.results.setRowCount(len(probabilities))
        for row, (label, probability) in enumerate(probabilities.items()):
            self.results.setItem(row, 0, QTableWidgetItem(label))
            self.results.setItem(row, 1, QTableWidgetItem(f"{probability:.3f}"))
        threshold = "" if analysis.threshold is None else f" (threshold {analysis.threshold:.3f}, fitted on validation)"
        self.status.setText(f"Prediction: {analysis.prediction.label}{threshold}")
        explanation = analysis.explanation
        if explanation is None:
            self.faithfulness.setText("")
        else:
            score = explanation.faithfulness
            self.faithfulness.setText(
                f"{explanation.saliency.label} for '{explanation.label}'. Faithfulness: deletion AUC "
                f"{score.deletion_auc:.3f} vs {score.random_auc:.3f} ± {score.random_auc_std:.3f} for random maps "
                f"(relative {score.relative:+.2f}; lower AUC is better, 0 means no better than chance)."
            )
        self.analysed.emit(analysis)

    def show_card(self) -> Job:
        return show_model_card(self.runner, self.models.currentData(), self)
