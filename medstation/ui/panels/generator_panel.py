"""The generator panel: pick a generation model and class, sample a grid of SYNTHETIC images, view and export them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QWidget,
)

from medstation.engine.generator import (
    GeneratedSamples,
    GeneratorChoice,
    generate_samples,
    list_generators,
    synthetic_volume,
)
from medstation.io.open_study import OpenedStudy
from medstation.io.synthetic.writers import write_synthetic
from medstation.ui.jobs import Job, JobRunner
from medstation.ui.panels.model_panel import ModelPanel

CLASS_MIX = "Training class mix"
EXPORT_FORMATS = {"png": "PNG (viewing copy, labelled)", "nii": "NIfTI (float32 pixels)", "dcm": "DICOM (16-bit)"}
THUMBNAIL_PIXELS = 140
MAX_SAMPLES = 256
NOTICE = "Every image here is SYNTHETIC: made by a generative model, not a patient. Not for diagnosis."


def _pixmap(thumbnail: np.ndarray) -> QPixmap:
    grey = np.ascontiguousarray(thumbnail, dtype=np.uint8)
    image = QImage(grey.data, grey.shape[1], grey.shape[0], grey.strides[0], QImage.Format.Format_Grayscale8)
    return QPixmap.fromImage(image.copy())


class GeneratorPanel(ModelPanel):
    """Gathers the sampling parameters, runs :func:`generate_samples` in a job and shows the grid.

    Signals
    -------
    open_requested(OpenedStudy)
        A sample was double-clicked: its one-slice SYNTHETIC volume, for the viewer.
    """

    open_requested = Signal(object)
    list_title = "List generation models"
    list_models = staticmethod(list_generators)

    def __init__(self, runner: JobRunner, parent: QWidget | None = None):
        super().__init__(runner, "Generate", "Looking for generation models…", NOTICE, parent)
        self.samples: GeneratedSamples | None = None
        self.export_job: Job | None = None
        self.generate_button = self.run_button
        self.models.currentIndexChanged.connect(self._model_changed)
        self.label = QComboBox()
        self.count = QSpinBox()
        self.count.setRange(1, MAX_SAMPLES)
        self.count.setValue(16)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setToolTip("The same model, class, number and seed give the same images")
        self.generate_button.clicked.connect(self.generate)
        self.grid = QListWidget()
        self.grid.setViewMode(QListWidget.ViewMode.IconMode)
        self.grid.setIconSize(QSize(THUMBNAIL_PIXELS, THUMBNAIL_PIXELS))
        self.grid.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.grid.setMovement(QListWidget.Movement.Static)
        self.grid.setSpacing(4)
        self.grid.setUniformItemSizes(True)
        self.grid.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.grid.itemDoubleClicked.connect(lambda item: self.open_sample(self.grid.row(item)))
        self.grid.itemSelectionChanged.connect(self._update_enabled)
        self.export_format = QComboBox()
        for key, text in EXPORT_FORMATS.items():
            self.export_format.addItem(text, key)
        self.export_button = QPushButton("Export selected…")
        self.export_button.clicked.connect(self.ask_export)

        self.form.addRow("Model", self.models)
        self.form.addRow("Class", self.label)
        numbers = QHBoxLayout()
        numbers.addWidget(self.count)
        numbers.addWidget(QLabel("Seed"))
        numbers.addWidget(self.seed, 1)
        self.form.addRow("Images", numbers)
        export_row = QHBoxLayout()
        export_row.addWidget(self.export_format, 1)
        export_row.addWidget(self.export_button)
        self._lay_out([(self.grid, 1), (export_row, 0)])
        self.choices: list[GeneratorChoice] = []
        self._update_enabled()

    # models ------------------------------------------------------------------------------------------
    def _show_models(self, choices: list[GeneratorChoice]) -> None:
        self.choices = choices
        self._fill_models([(choice.name, choice.problem) for choice in choices])
        usable = [index for index, choice in enumerate(choices) if choice.problem is None]
        if usable:
            self.models.setCurrentIndex(usable[0])
        self.status.setText(
            "Choose a class, how many images and a seed." if usable
            else "No generation model is installed (see 'medstation models')."
        )
        self._update_enabled()

    def _model_changed(self, index: int) -> None:
        self.label.clear()
        self.label.addItem(CLASS_MIX, None)
        if 0 <= index < len(self.choices):
            for label in self.choices[index].labels:
                self.label.addItem(label, label)
        self._update_enabled()

    def _update_enabled(self) -> None:
        super()._update_enabled()
        exporting = self.export_job is not None and not self.export_job.state.finished
        self.export_button.setEnabled(bool(self.grid.selectedItems()) and not exporting)

    # generating --------------------------------------------------------------------------------------
    def generate(self) -> Job:
        """Sample the grid in a job with the chosen model, class, number and seed."""
        model, label = self.models.currentData(), self.label.currentData()
        return self._start_job(
            f"Generate {self.count.value()} with {model}", generate_samples, model, self.count.value(), label,
            self.seed.value(), THUMBNAIL_PIXELS, on_success=self.show_samples,
        )

    def show_samples(self, samples: GeneratedSamples) -> None:
        """Fill the grid: SYNTHETIC-labelled thumbnails with their requested class and the classifier's confidence."""
        self.samples = samples
        self.grid.clear()
        for index, (thumbnail, label) in enumerate(zip(samples.thumbnails, samples.labels, strict=True)):
            confidence = "" if samples.confidences is None else f"\np = {samples.confidences[index]:.2f}"
            item = QListWidgetItem(_pixmap(thumbnail), f"#{index} {label}{confidence}")
            item.setToolTip(samples.provenance(index).statement())
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter)
            self.grid.addItem(item)
        summary = f"{len(samples.labels)} SYNTHETIC images from {samples.model}, seed {samples.seed}."
        if samples.confidences is None:
            summary += f" No classifier confidence: {samples.confidence_problem}"
        else:
            summary += (
                f" p = the shipped classifier's probability of the requested class "
                f"(mean {samples.mean_confidence:.2f}). Double-click to view."
            )
        self.status.setText(summary)
        self._update_enabled()

    def open_sample(self, index: int) -> OpenedStudy:
        """Hand sample ``index`` to the viewer as a SYNTHETIC one-slice volume."""
        opened = OpenedStudy(synthetic_volume(self.samples, index), Path(self.samples.model), [])
        self.open_requested.emit(opened)
        return opened

    # export ------------------------------------------------------------------------------------------
    def selected_indices(self) -> list[int]:
        return sorted(self.grid.row(item) for item in self.grid.selectedItems())

    def ask_export(self) -> Job | None:
        folder = QFileDialog.getExistingDirectory(self, "Export the selected synthetic images to")
        return self.export_selected(Path(folder), self.export_format.currentData()) if folder else None

    def export_selected(self, folder: Path, fmt: str) -> Job:
        """Write the selected samples to ``folder`` as ``fmt`` (png, nii or dcm) in a job."""
        samples, indices = self.samples, self.selected_indices()
        self.export_job = job = self.runner.submit(
            f"Export {len(indices)} synthetic images",
            write_synthetic,
            samples.images[indices],
            [samples.labels[index] for index in indices],
            folder,
            fmt,
            model=samples.model,
            seed=samples.seed,
            indices=indices,
        )
        job.succeeded.connect(lambda paths: self.status.setText(f"Exported {len(paths)} files to {folder}."))
        job.failed.connect(lambda error: self.status.setText(f"Export failed: {error}"))
        job.finished.connect(self._update_enabled)
        self._update_enabled()
        return job
