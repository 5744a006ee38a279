"""A SEG or Parametric Map opened again lands on whichever open viewer shows its source series: the main viewer or
the Compare viewer beside it; with its source in neither (or Compare hidden), one line says which series to open."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from sample_opening import SAMPLE, finish

from medstation.core.layers import OverlayLayer
from medstation.io.dicom.series import scan_dicom
from medstation.io.export import layer_segmentation, read_source_images, saliency_parametric_map, save_dicom

NAMES = ("sample-04.dcm", "sample-05.dcm", "sample-06.dcm")


@pytest.fixture
def reading(make_window, qtbot, tmp_path):
    """sample-04 in the main viewer, sample-05 of the same study in the Compare viewer; the three images' sources."""
    folder = tmp_path / "study"
    folder.mkdir()
    copies = [shutil.copy(SAMPLE / name, folder / name) for name in NAMES]
    sources = [read_source_images(scan_dicom(copy).series[0]) for copy in copies]
    window = make_window()
    window.database.import_folder(folder)
    finish(qtbot, window.opener.open_path(copies[0]))
    (row,) = [row for row in window.database.series(sources[1].study_uid) if row.series_uid == sources[1].series_uid]
    finish(qtbot, window.open_in_compare(row))
    qtbot.waitUntil(lambda: window.compare.viewer.state is not None, timeout=10_000)
    return window, sources


def _segmentation(source, shape, path):
    labels = np.zeros(shape, np.uint8)
    labels[:, 5:15, 8:22] = 1
    return labels, save_dicom(layer_segmentation(OverlayLayer("nodule", labels, kind="label"), source), path)


def test_a_segmentation_of_the_compared_series_is_drawn_in_the_compare_viewer(reading, qtbot, tmp_path):
    window, sources = reading
    main, compared = window.viewer.state, window.compare.viewer.state
    assert compared.volume.info.series_uid == sources[1].series_uid != main.volume.info.series_uid
    labels, seg = _segmentation(sources[1], compared.volume.spatial_shape, tmp_path / "exported" / "seg.dcm")

    finish(qtbot, window.open_paths([seg]))
    qtbot.waitUntil(lambda: len(compared.layers) == 1, timeout=10_000)
    assert compared.layers[0].kind == "label"
    np.testing.assert_array_equal(compared.layers[0].data > 0, labels > 0)
    assert main.layers == [], "the main viewer shows another series: no layer there"
    assert window.results_panel.status.text() == "seg.dcm: shown as the layer 'Segmentation: nodule' on the open series"
    overlay = window.compare.viewer.views["axial"]._overlay_items[0]
    assert overlay.isVisible() and overlay.image is not None and overlay.image[..., 3].max() > 0, "drawn in the view"

    values = np.random.default_rng(3).random(main.volume.spatial_shape).astype(np.float32)
    pm = save_dicom(saliency_parametric_map(values, sources[0], "Grad-CAM: pneumonia"),
                    tmp_path / "exported" / "pm.dcm")
    finish(qtbot, window.open_paths([pm]))
    qtbot.waitUntil(lambda: len(main.layers) == 1, timeout=10_000)
    np.testing.assert_allclose(main.layers[0].data, values)
    assert len(compared.layers) == 1, "a map of the main viewer's series stays off the compared one"


def test_a_segmentation_of_no_open_series_says_which_to_open(reading, qtbot, tmp_path):
    window, sources = reading
    main, compared = window.viewer.state, window.compare.viewer.state
    _, seg = _segmentation(sources[2], main.volume.spatial_shape, tmp_path / "exported" / "seg-06.dcm")
    finish(qtbot, window.open_paths([seg]))
    assert window.results_panel.status.text() == (
        f"seg-06.dcm: a segmentation of series {sources[2].series_uid}, which is not open; open that series, then "
        "open this file again")
    assert main.layers == [] and compared.layers == []

    window.set_compare(False)
    _, seg = _segmentation(sources[1], compared.volume.spatial_shape, tmp_path / "exported" / "seg-05.dcm")
    finish(qtbot, window.open_paths([seg]))
    assert "which is not open" in window.results_panel.status.text(), "a hidden Compare viewer is no open view"
    assert compared.layers == []
