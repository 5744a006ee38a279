"""The results panel: an SR opened (File > Open or a drop) lists its content as text; a SEG or Parametric Map opened
becomes a layer on its open source series, and says which series to open when that one is not open."""

from __future__ import annotations

import numpy as np
from sample_opening import finish, open_sample

from medstation.core.layers import OverlayLayer, saliency_overlay
from medstation.core.measurements import Ruler
from medstation.io.dicom.series import scan_dicom
from medstation.io.export import (
    SeriesFindings,
    layer_segmentation,
    measurement_report,
    read_source_images,
    saliency_parametric_map,
    save_dicom,
)

SALIENCY_MEANING = saliency_overlay(np.zeros((1, 1, 1)), "").meaning


def _source(path):
    return read_source_images(scan_dicom(path).series[0])


def test_an_sr_opens_as_text_in_the_results_panel(make_window, qtbot, tmp_path):
    window = make_window()
    image = open_sample(qtbot, window, tmp_path / "study")
    volume = window.viewer.state.volume
    affine = volume.affine
    ruler = Ruler("axial", 0, (affine @ [2, 3, 0, 1])[:3], (affine @ [20, 15, 0, 1])[:3], id=1)
    report = measurement_report([SeriesFindings(_source(image), affine, "DX", measurements=[ruler])], "Reader^Ann")
    sr = save_dicom(report, tmp_path / "exported" / "report.dcm")

    job = window.open_paths([sr])
    finish(qtbot, job)
    panel = window.results_panel
    text = panel.text.toPlainText()
    assert text.splitlines()[0].startswith("Imaging Measurement Report  (Comprehensive 3D SR")
    assert f"Length: {ruler.length_mm:.6g}" in text and "Reader^Ann" in text
    assert panel.documents.count() == 1 and "report.dcm" in panel.documents.item(0).text()
    assert window.docks["results"].isVisibleTo(window)
    assert window.viewer.state.volume is volume, "the open image stays open"


def test_seg_and_parametric_map_open_as_layers_on_their_source(make_window, qtbot, tmp_path):
    window = make_window()
    image = open_sample(qtbot, window, tmp_path / "study")
    source = _source(image)
    shape = window.viewer.state.volume.spatial_shape
    values = np.random.default_rng(1).random(shape).astype(np.float32)
    labels = np.zeros(shape, np.uint8)
    labels[:, 4:12, 6:20] = 1
    pm = save_dicom(saliency_parametric_map(values, source, "Grad-CAM: pneumonia", SALIENCY_MEANING),
                    tmp_path / "exported" / "pm.dcm")
    seg = save_dicom(layer_segmentation(OverlayLayer("lung", labels, kind="label"), source),
                     tmp_path / "exported" / "seg.dcm")

    finish(qtbot, window.open_paths([pm]))
    qtbot.waitUntil(lambda: len(window.viewer.state.layers) == 1)
    np.testing.assert_allclose(window.viewer.state.layers[0].data, values)
    view = window.viewer.views["axial"]
    qtbot.waitUntil(lambda: view.colour_legend.isVisibleTo(view))
    legend = view.colour_legend
    assert legend.legend.title == "Grad-CAM: pneumonia" and legend.legend.meaning == SALIENCY_MEANING
    assert legend.sizeHint().width() >= legend.fontMetrics().horizontalAdvance(SALIENCY_MEANING)
    finish(qtbot, window.open_paths([seg]))
    qtbot.waitUntil(lambda: len(window.viewer.state.layers) == 2)
    seg_layer = window.viewer.state.layers[1]
    assert seg_layer.kind == "label"
    np.testing.assert_array_equal(seg_layer.data > 0, labels > 0)

    open_sample(qtbot, window, tmp_path / "other", "sample-05.dcm")
    finish(qtbot, window.open_paths([seg]))
    message = window.results_panel.status.text()
    assert message.startswith("seg.dcm: a segmentation of series ") and "which is not open" in message
    assert source.series_uid in message and window.viewer.state.layers == []
