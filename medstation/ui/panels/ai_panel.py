"""The AI panel: choose a classifier bundle, read its card, run it on the open image, see why.

When an image opens, the panel picks the classifier made for it (:mod:`medstation.engine.bundles.image_fit`: among
the bundles whose input accepts the image, the one whose input size is nearest the image's), so a full-resolution
radiograph gets the full-resolution model and a 28-pixel thumbnail the 28-pixel one; the user may
choose another, which holds until the next image opens. A bundle that combines labels (``pneumonia`` = ``bacteria``
+ ``virus``) lists the union's probability with its members' under it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from medstation.core.volume import Volume
from medstation.engine.bundles import InputSpec, best_bundle, image_size, refusal
from medstation.engine.saliency import METHOD_LABELS
from medstation.engine.saliency.analysis import ImageAnalysis, analyse_image
from medstation.ui.dialogs.model_card import show_model_card
from medstation.ui.jobs import Job, JobRunner
from medstation.ui.panels.model_panel import ModelPanel

NO_SALIENCY = "none"
SALIENCY_METHODS = {**METHOD_LABELS, NO_SALIENCY: "No saliency map"}
DISCLAIMER = "Decision support for trained readers, not a diagnosis. Read the model card before trusting it."


def _list_classifiers(progress=None, cancel=None) -> list[tuple[str, str | None, InputSpec | None]]:
    """(name, problem, input spec) of every classifier bundle, and of every unreadable one; problem is None for a
    usable one, the input spec None where the metadata could not be read."""
    from medstation.engine.families import FAMILIES

    return [
        (entry.name, entry.problem, entry.metadata.input_spec if entry.metadata is not None else None)
        for entry in FAMILIES["classifier"].bundles(unreadable=True)
    ]


def _size_text(size: tuple[int, ...]) -> str:
    """Width x height (x depth): the voxel axes ``(..., j, i)`` named from ``i`` up, as sizes are usually read."""
    return "x".join(map(str, reversed(size)))


def model_note(name: str, spec: InputSpec | None, volume: Volume | None, chosen_for_image: bool) -> str:
    """What the panel says under the model picker: the chosen model's input against the open image's size."""
    if volume is None or spec is None:
        return ""
    refused = refusal(spec, volume)
    if refused is not None:
        return f"{name} {refused}: it cannot classify this image."
    image = _size_text(image_size(volume, spec.spatial_dims))
    takes = f"takes {_size_text(spec.spatial_size)} pixels"
    if chosen_for_image:
        return f"Chosen for this {image} image: {name} {takes}, the nearest input size of the installed models."
    return f"{name} {takes}; this image ({image}) is resized to it."


class AIPanel(ModelPanel):
    """Runs :func:`analyse_image` in a job and reports the probabilities and the saliency map."""

    analysed = Signal(object)
    list_title = "List AI models"
    list_models = staticmethod(_list_classifiers)

    def __init__(self, runner: JobRunner, parent: QWidget | None = None):
        super().__init__(runner, "Classify the open image", "Open an image to classify it.", DISCLAIMER, parent)
        self.volume: Volume | None = None
        self.specs: dict[str, InputSpec] = {}
        self.chosen_by_user = False
        self.model_note = QLabel("")
        self.model_note.setWordWrap(True)
        self.model_note.setObjectName("placeholder")
        self.models.activated.connect(self._user_chose_model)
        self.models.currentIndexChanged.connect(self._show_model_note)
        self.models.currentIndexChanged.connect(self._update_enabled)
        self.card_button = QPushButton("Model card…")
        self.card_button.clicked.connect(self.show_card)
        self.method = QComboBox()
        for key, text in SALIENCY_METHODS.items():
            self.method.addItem(text, key)
        self.run_button.clicked.connect(self.run)
        self.results = QTableWidget(0, 2)
        self.results.setHorizontalHeaderLabels(["Label", "Probability"])
        self.results.verticalHeader().hide()
        self.results.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)  # the model's answer, read only
        header = self.results.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.faithfulness = QLabel("")
        self.faithfulness.setWordWrap(True)
        model_row = QHBoxLayout()
        model_row.addWidget(self.models, 1)
        model_row.addWidget(self.card_button)
        self.form.addRow("Model", model_row)
        self.form.addRow("", self.model_note)
        self.form.addRow("Saliency", self.method)
        self._lay_out([(self.results, 0), (self.faithfulness, 0)]).addStretch(1)
        self._update_enabled()

    def _show_models(self, entries: list[tuple[str, str | None, InputSpec | None]]) -> None:
        current = self.models.currentData()
        self.models.blockSignals(True)
        self._fill_models([(name, problem) for name, problem, _ in entries])
        self.models.blockSignals(False)
        self.specs = {name: spec for name, problem, spec in entries if problem is None and spec is not None}
        if current is not None and self.models.findData(current) >= 0:
            self.models.setCurrentIndex(self.models.findData(current))
        if not entries:
            self.status.setText("No classifier bundle is installed (see 'medstation models').")
        if not self.chosen_by_user:
            self.choose_model_for_image()
        self._show_model_note()
        self._update_enabled()

    def set_volume(self, volume) -> None:
        """The image the next run classifies (None when nothing is open); the model made for it is chosen."""
        self.volume = volume
        self.chosen_by_user = False
        self.results.setRowCount(0)
        self.faithfulness.setText("")
        self.choose_model_for_image()
        self._update_enabled()
        if volume is None:
            self.status.setText("Open an image to classify it.")
        else:
            self.status.setText("Ready to classify." if self._can_run() else
                                "No installed model is made for this image; see the note under the model.")

    def choose_model_for_image(self) -> str | None:
        """Pick the usable bundle made for the open image (see the module docstring); None, and the choice left as
        it was, when no image is open or no bundle accepts it."""
        if self.volume is None:
            return None
        usable = [(name, spec) for name, spec in self.specs.items() if self.models.findData(name) >= 0]
        name = best_bundle(self.volume, usable, self.models.currentData())
        if name is not None:
            self.models.setCurrentIndex(self.models.findData(name))
        self._show_model_note()
        return name

    def _user_chose_model(self, _index: int) -> None:
        self.chosen_by_user = True
        self._show_model_note()

    def _show_model_note(self, *_) -> None:
        name = self.models.currentData()
        chosen = not self.chosen_by_user and name is not None and (
            best_bundle(self.volume, list(self.specs.items()), name) == name if self.volume is not None else False)
        self.model_note.setText(model_note(name, self.specs.get(name), self.volume, chosen))

    def _can_run(self) -> bool:
        spec = self.specs.get(self.models.currentData())
        return self.volume is not None and (spec is None or refusal(spec, self.volume) is None)

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
        rows = analysis.probability_rows()
        self.results.setRowCount(len(rows))
        for number, row in enumerate(rows):
            text = ("    " * row.depth) + row.label + (f" ({' + '.join(row.members)})" if row.members else "")
            label = QTableWidgetItem(text)
            label.setData(Qt.ItemDataRole.UserRole, row.label)
            if row.members:
                font = label.font()
                font.setBold(True)
                label.setFont(font)
            probability = QTableWidgetItem(f"{row.probability:.3f}")
            for item in (label, probability):
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.results.setItem(number, 0, label)
            self.results.setItem(number, 1, probability)
        self.status.setText(f"Prediction: {analysis.call_text()}")
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
