"""The AI panel: choose a classifier bundle, read its card, run it on the open image, see why."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QTableWidget, QTableWidgetItem, QWidget

from medstation.engine.saliency import METHOD_LABELS
from medstation.engine.saliency.analysis import ImageAnalysis, analyse_image
from medstation.ui.dialogs.model_card import show_model_card
from medstation.ui.jobs import Job, JobRunner
from medstation.ui.panels.model_panel import ModelPanel

NO_SALIENCY = "none"
SALIENCY_METHODS = {**METHOD_LABELS, NO_SALIENCY: "No saliency map"}
DISCLAIMER = "Decision support for trained readers, not a diagnosis. Read the model card before trusting it."


def _list_classifiers(progress=None, cancel=None) -> list[tuple[str, str | None]]:
    """(name, problem) of every classifier bundle, and of every unreadable one; problem is None for a usable one."""
    from medstation.engine.families import FAMILIES

    return [(entry.name, entry.problem) for entry in FAMILIES["classifier"].bundles(unreadable=True)]


class AIPanel(ModelPanel):
    """Runs :func:`analyse_image` in a job and reports the probabilities and the saliency map."""

    analysed = Signal(object)
    list_title = "List AI models"
    list_models = staticmethod(_list_classifiers)

    def __init__(self, runner: JobRunner, parent: QWidget | None = None):
        super().__init__(runner, "Classify the open image", "Open an image to classify it.", DISCLAIMER, parent)
        self.volume = None
        self.card_button = QPushButton("Model card…")
        self.card_button.clicked.connect(self.show_card)
        self.method = QComboBox()
        for key, text in SALIENCY_METHODS.items():
            self.method.addItem(text, key)
        self.run_button.clicked.connect(self.run)
        self.results = QTableWidget(0, 2)
        self.results.setHorizontalHeaderLabels(["Label", "Probability"])
        self.results.verticalHeader().hide()
        self.results.horizontalHeader().setStretchLastSection(True)
        self.faithfulness = QLabel("")
        self.faithfulness.setWordWrap(True)
        model_row = QHBoxLayout()
        model_row.addWidget(self.models, 1)
        model_row.addWidget(self.card_button)
        self.form.addRow("Model", model_row)
        self.form.addRow("Saliency", self.method)
        self._lay_out([(self.results, 0), (self.faithfulness, 0)]).addStretch(1)
        self._update_enabled()

    def _show_models(self, entries: list[tuple[str, str | None]]) -> None:
        self._fill_models(entries)
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

    def _can_run(self) -> bool:
        return self.volume is not None

    def _update_enabled(self) -> None:
        super()._update_enabled()
        self.card_button.setEnabled(self._model_usable())

    def run(self) -> Job:
        method = self.method.currentData()
        return self._start_job(
            f"Classify with {self.models.currentData()}",
            analyse_image,
            self.models.currentData(),
            self.volume,
            None if method == NO_SALIENCY else method,
            on_success=self._show_analysis,
        )

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
