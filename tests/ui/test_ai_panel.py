"""The AI panel runs a classifier bundle on the open image and puts its saliency map over it."""

from __future__ import annotations

import numpy as np

from medstation.core.volume import Volume, VolumeInfo
from medstation.io.open_study import OpenedStudy


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
    job = window.ai_panel.run()
    qtbot.waitUntil(lambda: job.state.finished, timeout=60_000)
    assert job.state.value == "failed"
    assert "CT" in window.ai_panel.status.text()
    for box in list(window.error_dialogs):
        box.accept()
