"""The AI panel picks the classifier made for the open image, runs it, lists a combination's union with its members,
and puts its saliency map over the image on the image's own grid, with the map's colour legend."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView

from medstation.core.layers import colormap_table
from medstation.core.volume import Volume, VolumeInfo
from medstation.io.open_study import OpenedStudy, open_image
from medstation.resources import resource_path

SAMPLE = resource_path("sample", "images")


def _radiograph() -> Volume:
    rows, columns = np.mgrid[0:56, 0:48]
    image = (100 + 50 * np.sin(rows / 5.0) + columns).astype(np.float32)[np.newaxis]
    return Volume(image, np.diag([0.5, 0.5, 1.0, 1.0]), VolumeInfo(modality="DX", series_description="chest"))


def test_panel_classifies_the_open_image_and_overlays_the_map(
    make_window, qtbot, untrained_classifier_bundle, tmp_path
):
    window = make_window()
    listing = window.ai_panel.refresh_models()
    qtbot.waitUntil(lambda: listing.state.finished, timeout=30_000)
    assert window.ai_panel.models.findData(untrained_classifier_bundle) >= 0
    window.ai_panel.models.setCurrentIndex(window.ai_panel.models.findData(untrained_classifier_bundle))
    volume = _radiograph()
    window.show_study(OpenedStudy(volume, tmp_path, []))
    assert window.ai_panel.run_button.isEnabled()
    window.ai_panel.method.setCurrentIndex(window.ai_panel.method.findData("gradcam"))
    job = window.ai_panel.run()
    qtbot.waitUntil(lambda: job.state.finished, timeout=120_000)
    assert job.state.value == "done", job.error
    panel = window.ai_panel
    shown = {panel.results.item(row, 0).text(): float(panel.results.item(row, 1).text()) for row in range(2)}
    assert set(shown) == {"normal", "pneumonia"} and abs(sum(shown.values()) - 1) < 0.01
    for column in (0, 1):  # typing into the results, or double-clicking a cell, changes nothing
        panel.results.setFocus()
        panel.results.setCurrentCell(0, column)
        before = panel.results.item(0, column).text()
        qtbot.keyClicks(panel.results, "x9")
        qtbot.keyClick(panel.results, Qt.Key.Key_F2)
        qtbot.keyClicks(panel.results.viewport(), "x9")
        rect = panel.results.visualItemRect(panel.results.item(0, column))
        qtbot.mouseDClick(panel.results.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        qtbot.keyClicks(panel.results.viewport(), "x9")
        qtbot.keyClick(panel.results.viewport(), Qt.Key.Key_Return)
        assert panel.results.item(0, column).text() == before
        assert panel.results.state() is not QAbstractItemView.State.EditingState
    assert "deletion AUC" in panel.faithfulness.text()
    (layer,) = window.viewer.state.layers
    assert layer.data.shape == volume.array.shape
    assert layer.data.min() >= 0.0 and layer.data.max() <= 1.0
    second = panel.run()
    qtbot.waitUntil(lambda: second.state.finished, timeout=120_000)
    assert len(window.viewer.state.layers) == 1, "a new map replaces the previous one"


def test_a_volume_the_model_was_not_made_for_is_refused_with_the_reason(
    make_window, qtbot, untrained_classifier_bundle, tmp_path
):
    window = make_window()
    listing = window.ai_panel.refresh_models()
    qtbot.waitUntil(lambda: listing.state.finished, timeout=30_000)
    window.ai_panel.models.setCurrentIndex(window.ai_panel.models.findData(untrained_classifier_bundle))
    ct = Volume(np.zeros((5, 28, 28), np.int16), np.eye(4), VolumeInfo(modality="CT"))
    window.show_study(OpenedStudy(ct, tmp_path, []))
    panel = window.ai_panel
    assert not panel.run_button.isEnabled()
    assert panel.model_note.text() == (f"{untrained_classifier_bundle} is made for DX, CR images, not CT: it cannot "
                                       "classify this image.")
    assert panel.status.text().startswith("No installed model is made for this image")
    window.show_study(OpenedStudy(_radiograph(), tmp_path, []))
    assert panel.run_button.isEnabled() and panel.status.text() == "Ready to classify."
    window.show_study(OpenedStudy(ct, tmp_path, []))
    job = window.ai_panel.run()  # run anyway (not through the disabled button): the engine refuses it too
    qtbot.waitUntil(lambda: job.state.finished, timeout=60_000)
    assert job.state.value == "failed"
    assert "CT" in window.ai_panel.status.text()
    for box in list(window.error_dialogs):
        box.accept()


def _wait_for_models(panel, qtbot) -> None:
    listing = panel.refresh_models()
    qtbot.waitUntil(lambda: listing.state.finished, timeout=30_000)


def _combined_bundle(home) -> str:
    """A three-label bundle combining bacteria and virus into pneumonia, for 256-pixel input (untrained)."""
    from bundle_factory import COMBINED_DECISION, COMBINED_LABELS, untrained_bundle

    untrained_bundle(home / "models" / "wiring-fullres", size=256, labels=COMBINED_LABELS, decision=COMBINED_DECISION)
    return "wiring-fullres"


def _run(panel, qtbot, method: str = "gradcam"):
    panel.method.setCurrentIndex(panel.method.findData(method))
    job = panel.run()
    qtbot.waitUntil(lambda: job.state.finished, timeout=180_000)
    assert job.state.value == "done", job.error
    return job


def test_the_panel_picks_the_model_made_for_each_image_and_the_user_may_choose_another(
    make_window, qtbot, untrained_classifier_bundle, tmp_path
):
    fullres = _combined_bundle(tmp_path / "home")
    window = make_window()
    panel = window.ai_panel
    _wait_for_models(panel, qtbot)
    radiograph = open_image(SAMPLE / "cxr-01.dcm")
    window.show_study(radiograph)
    assert panel.models.currentData() == fullres, "a 1024-pixel radiograph gets the 256-pixel model, not a 28-pixel one"
    assert panel.model_note.text().startswith("Chosen for this 1024x962 image"), "width x height"
    thumbnail = open_image(SAMPLE / "sample-01.dcm")
    window.show_study(thumbnail)
    assert panel.specs[panel.models.currentData()].spatial_size == (28, 28), "a 28-pixel image keeps a 28-pixel model"
    chosen = panel.models.findData(fullres)
    panel.models.setCurrentIndex(chosen)
    panel.models.activated.emit(chosen)  # as a click in the list does
    assert panel.model_note.text() == f"{fullres} takes 256x256 pixels; this image (28x28) is resized to it."
    _wait_for_models(panel, qtbot)
    assert panel.models.currentData() == fullres, "listing the models again keeps the user's choice"
    window.show_study(thumbnail)
    assert panel.specs[panel.models.currentData()].spatial_size == (28, 28), "the next image opened is chosen for"


@pytest.mark.slow
def test_a_combining_model_lists_the_union_with_its_members_and_its_map_lies_on_the_radiograph_with_a_legend(
    make_window, qtbot, untrained_classifier_bundle, tmp_path
):
    fullres = _combined_bundle(tmp_path / "home")
    window = make_window()
    panel = window.ai_panel
    _wait_for_models(panel, qtbot)
    radiograph = open_image(SAMPLE / "cxr-08.dcm")
    window.show_study(radiograph)
    assert panel.models.currentData() == fullres
    view = window.viewer.views["axial"]
    assert not view.colour_legend.isVisibleTo(view), "no legend without a heat map"
    _run(panel, qtbot)
    rows = [(panel.results.item(row, 0).text(), float(panel.results.item(row, 1).text()))
            for row in range(panel.results.rowCount())]
    assert [text for text, _ in rows] == ["pneumonia (bacteria + virus)", "    bacteria", "    virus", "normal"]
    assert rows[0][1] == pytest.approx(rows[1][1] + rows[2][1], abs=0.0011)
    assert rows[0][1] + rows[3][1] == pytest.approx(1.0, abs=0.0011)
    assert panel.status.text().startswith("Prediction: ")
    (layer,) = window.viewer.state.layers
    assert layer.data.shape == radiograph.volume.array.shape, "the map is on the radiograph's own 695x1024 grid"
    legend = view.colour_legend
    assert legend.isVisibleTo(view) and legend.legend.title == layer.name
    assert layer.name.startswith("Grad-CAM: ")
    assert [text for _, text in legend.legend.ticks()] == ["0", "0.3 (clear below)", "1"]
    picture = legend.grab().toImage()
    bar = legend.bar_rect()
    table = colormap_table(layer.colormap)
    for fraction in (0.98, 0.6):
        colour = picture.pixelColor(bar.center().x(), bar.bottom() - round(fraction * (bar.height() - 1)))
        expected = table[round(fraction * 255)]
        assert np.abs(np.array([colour.red(), colour.green(), colour.blue()]) - expected).max() <= 12, fraction
    assert view.colour_legend.geometry().right() < view.width() and view.colour_legend.y() > 0
    window.viewer.state.update_layer(layer, visible=False)
    assert not legend.isVisibleTo(view), "the legend goes with its overlay"
    window.viewer.state.update_layer(layer, visible=True)
    assert legend.isVisibleTo(view)
    window.viewer.state.remove_layer(layer)
    assert not legend.isVisibleTo(view)


@pytest.mark.slow
def test_the_map_of_a_2000_pixel_dx_lies_on_its_own_grid(make_window, qtbot, untrained_classifier_bundle, tmp_path):
    path = tmp_path / "large.dcm"
    _write_dx(path, 2000, 2000)
    fullres = _combined_bundle(tmp_path / "home")
    window = make_window()
    panel = window.ai_panel
    _wait_for_models(panel, qtbot)
    opened = open_image(path)
    window.show_study(opened)
    assert panel.models.currentData() == fullres
    _run(panel, qtbot)
    (layer,) = window.viewer.state.layers
    assert layer.data.shape == (1, 2000, 2000)
    assert layer.data.min() >= 0.0 and layer.data.max() == pytest.approx(1.0)
    assert window.viewer.views["axial"].colour_legend.isVisibleTo(window.viewer.views["axial"])


def _write_dx(path, rows: int, columns: int) -> None:
    """A synthetic DX radiograph: 12-bit MONOCHROME2 with a bright band, no pixel size."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Modality, ds.PatientID, ds.SeriesNumber, ds.InstanceNumber = "DX", "SYNTHETIC-2000", 1, 1
    ds.PatientOrientation = ["L", "F"]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns = rows, columns
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    row, column = np.mgrid[0:rows, 0:columns]
    pixels = 800 + 1500 * np.exp(-((column - columns * 0.3) / (columns * 0.1)) ** 2) + row * 0.2
    ds.PixelData = pixels.astype(np.uint16).tobytes()
    ds.save_as(path, enforce_file_format=True)
