"""The generator panel samples a grid of SYNTHETIC images in a job, opens one in the viewer and exports a selection."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from medstation.engine.generator.sampling import GeneratedSamples, labelled_thumbnail
from medstation.ui.panels.generator_panel import CLASS_MIX


@pytest.fixture
def tiny_generation_bundle(tmp_path, monkeypatch) -> str:
    """A generation bundle trained for one epoch by the engine on 32 grey disks, in a fresh user models folder."""
    from medstation.engine.classifier.data import LabelledImages, Split
    from medstation.engine.generator.training import GeneratorRecipe, train_generator

    monkeypatch.setenv("MEDSTATION_HOME", str(tmp_path / "home"))
    rows, columns = np.mgrid[0:28, 0:28]
    disk = ((rows - 14) ** 2 + (columns - 14) ** 2 < 64).astype(np.uint8)
    classes = np.arange(32) % 2
    images = np.stack([disk * (90 + 120 * c) for c in classes])[:, np.newaxis]
    data = LabelledImages(Path("disks.npz"), ("normal", "pneumonia"), {"train": Split(images, classes)})
    recipe = GeneratorRecipe(epochs=1, batch_size=16, latent_dim=8, width=8)
    train_generator(data, tmp_path / "home" / "models" / "tiny-gan", recipe)
    return "tiny-gan"


def _samples() -> GeneratedSamples:
    rows, columns = np.mgrid[0:28, 0:28]
    images = np.stack([(rows + columns + 2 * shift) / 60.0 for shift in range(4)]).astype(np.float32)
    labels = ["normal", "pneumonia", "pneumonia", "normal"]
    confidences = np.array([0.91, 0.87, 0.99, 0.42])
    thumbnails = [labelled_thumbnail(image, 140) for image in images]
    return GeneratedSamples(images, labels, 5, "cxr-gan", confidences, None, thumbnails)


def _icon_grey(item) -> np.ndarray:
    image = item.icon().pixmap(140, 140).toImage().convertToFormat(QImage.Format.Format_Grayscale8)
    return np.array(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())[:, : image.width()]


def test_the_grid_shows_each_sample_marked_synthetic_with_class_and_confidence(make_window):
    window = make_window()
    panel = window.generator_panel
    assert window.dockWidgetArea(window.docks["generator"]) == Qt.DockWidgetArea.RightDockWidgetArea
    assert window.docks["generator"] in window.tabifiedDockWidgets(window.docks["ai"])
    panel.show_samples(_samples())
    assert panel.grid.count() == 4
    texts = [panel.grid.item(row).text() for row in range(4)]
    assert texts[1] == "#1 pneumonia\np = 0.87" and texts[3] == "#3 normal\np = 0.42"
    assert "SYNTHETIC" in panel.grid.item(0).toolTip() and "seed 5" in panel.grid.item(0).toolTip()
    icon = _icon_grey(panel.grid.item(2))
    label_box, image_area = icon[:12, :60], icon[60:, :]
    assert (label_box < 40).mean() > 0.4 and (label_box > 200).mean() > 0.05, "white SYNTHETIC on a black box"
    assert image_area.min() > 40, "the sample itself is a bright ramp below the label"
    assert "mean 0.80" in panel.status.text()


def test_double_click_opens_the_sample_in_the_viewer_as_synthetic(make_window, qtbot):
    window = make_window()
    panel = window.generator_panel
    samples = _samples()
    panel.show_samples(samples)
    with qtbot.waitSignal(panel.open_requested):
        panel.grid.itemDoubleClicked.emit(panel.grid.item(1))
    volume = window.viewer.state.volume
    assert volume.info.patient_name == "SYNTHETIC" and volume.info.modality == "OT"
    assert volume.info.series_description.startswith("SYNTHETIC") and "pneumonia" in volume.info.series_description
    assert not volume.has_patient_geometry
    assert np.array_equal(volume.array[0], samples.images[1])
    assert "SYNTHETIC" in window.windowTitle()


def test_export_selected_writes_the_chosen_samples_in_a_job(make_window, qtbot, tmp_path):
    window = make_window()
    panel = window.generator_panel
    panel.show_samples(_samples())
    assert not panel.export_button.isEnabled()
    panel.grid.item(1).setSelected(True)
    panel.grid.item(3).setSelected(True)
    assert panel.export_button.isEnabled() and panel.selected_indices() == [1, 3]
    job = panel.export_selected(tmp_path / "out", "dcm")
    qtbot.waitUntil(lambda: job.state.finished, timeout=30_000)
    assert job.state.value == "done", job.error
    names = sorted(path.name for path in (tmp_path / "out").iterdir())
    assert names == ["cxr-gan-seed5-0001-pneumonia.dcm", "cxr-gan-seed5-0003-normal.dcm"]
    ds = pydicom.dcmread(tmp_path / "out" / names[0])
    assert str(ds.PatientName) == "SYNTHETIC" and ds.SyntheticData == "YES"
    assert "Exported 2 files" in panel.status.text()
    again = panel.export_selected(tmp_path / "out", "dcm")
    qtbot.waitUntil(lambda: again.state.finished, timeout=30_000)
    assert again.state.value == "failed" and names[0] in panel.status.text()
    for box in list(window.error_dialogs):
        box.accept()


@pytest.mark.slow
def test_generate_runs_the_engine_in_a_job_and_fills_the_grid(make_window, qtbot, tiny_generation_bundle):
    window = make_window()
    panel = window.generator_panel
    listing = window.show_generator()
    qtbot.waitUntil(lambda: listing.state.finished, timeout=60_000)
    assert panel.models.findData(tiny_generation_bundle) >= 0
    assert panel.models.findData("pneumonia-cxr-resnet18") < 0, "classifiers are not listed as generators"
    panel.models.setCurrentIndex(panel.models.findData(tiny_generation_bundle))
    assert [panel.label.itemText(i) for i in range(panel.label.count())] == [CLASS_MIX, "normal", "pneumonia"]
    panel.label.setCurrentIndex(panel.label.findData("pneumonia"))
    panel.count.setValue(6)
    panel.seed.setValue(3)
    job = panel.generate()
    assert not panel.generate_button.isEnabled() and panel.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: job.state.finished, timeout=120_000)
    assert job.state.value == "done", job.error
    first = panel.samples
    assert first.images.shape == (6, 28, 28) and first.labels == ["pneumonia"] * 6 and first.seed == 3
    assert first.confidences is not None and np.all((first.confidences >= 0) & (first.confidences <= 1))
    assert panel.grid.count() == 6 and panel.grid.item(0).text().startswith("#0 pneumonia\np = ")
    assert panel.generate_button.isEnabled()
    again = panel.generate()
    qtbot.waitUntil(lambda: again.state.finished, timeout=120_000)
    assert np.array_equal(panel.samples.images, first.images), "the same seed gives the same images"
    cancelled = panel.generate()
    panel.cancel_button.click()
    qtbot.waitUntil(lambda: cancelled.state.finished, timeout=120_000)
    assert cancelled.state.value == "cancelled" and panel.status.text() == "Cancelled."
    assert panel.grid.count() == 6 and panel.generate_button.isEnabled()
