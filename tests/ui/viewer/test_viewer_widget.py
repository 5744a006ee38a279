"""The viewer on screen (offscreen): pixels on the right side, mouse and keys, layouts, overlays, tools."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import image_array, marker_volume, send_click, send_drag, send_wheel, viewport_point
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from medstation.core.layers import OverlayLayer
from medstation.core.reslice import extract_slice, maximum_intensity_projection
from medstation.core.window_level import Window, apply_window
from medstation.io.dicom.geometry import NO_GEOMETRY_WARNING
from medstation.ui.viewer.render import render_png

RAS_LIKE = np.array([[-0.9, 0, 0, 20], [0, 0, -1.1, 40], [0, 1.6, 0, -10], [0, 0, 0, 1]], dtype=float)
"""i toward the patient's right, j toward superior, k toward anterior: nothing is where a naive display puts it."""


def grey_at(picture: np.ndarray, level: int) -> np.ndarray:
    """Pixels whose red, green and blue are all within 8 of ``level`` (grey, not the yellow labels)."""
    return (np.abs(picture[..., :3].astype(int) - level) < 8).all(axis=-1)


def bright_columns(picture: np.ndarray, level: int) -> np.ndarray:
    return np.nonzero(grey_at(picture, level).any(axis=0))[0]


def bright_rows(picture: np.ndarray, level: int) -> np.ndarray:
    return np.nonzero(grey_at(picture, level).any(axis=1))[0]


def test_patient_left_is_drawn_on_the_screen_right_and_anterior_on_top(make_viewer):
    viewer = make_viewer(marker_volume(RAS_LIKE))
    viewer.state.set_window(Window(100, 50))
    for view in viewer.state.planes:
        slice_view = viewer.views[view]
        slice_view.set_annotations_visible(False)
        picture = image_array(slice_view.grab().toImage())
        width, height = picture.shape[1], picture.shape[0]
        if view in ("axial", "coronal"):
            left_block = bright_columns(picture, 255)
            assert left_block.size and left_block.min() > width / 2, f"{view}: patient's left not on screen right"
        if view == "axial":
            anterior = bright_rows(picture, 153)
            assert anterior.size and anterior.max() < height / 2, "axial: anterior is not up"
        if view == "sagittal":
            anterior = bright_columns(picture, 153)
            assert anterior.size and anterior.max() < width / 2, "sagittal: anterior is not on the screen's left"
        labels = {edge: label.text() for edge, label in slice_view.edge_labels.items()}
        assert labels["right"] == ("P" if view == "sagittal" else "L")


def test_render_png_draws_the_same_picture_with_labels(tmp_path, qapp):
    volume = marker_volume(RAS_LIKE)
    out = render_png(volume, tmp_path / "axial.png", window=100, level=50, size=(400, 400))
    picture = image_array(QImage(str(out)))
    assert picture.shape[:2] == (400, 400)
    assert bright_columns(picture, 255).min() > 200
    bare = render_png(volume, tmp_path / "bare.png", window=100, level=50, size=(400, 400), annotations=False)
    differing = np.any(image_array(QImage(str(bare))) != picture, axis=-1)
    assert differing.any(), "annotations add text to the picture"
    with pytest.raises(Exception, match="outside"):
        render_png(volume, tmp_path / "x.png", slice_index=10_000)
    assert not [w for w in QApplication.topLevelWidgets() if type(w).__module__.startswith("medstation")], \
        "render_png must delete its widget (a pyqtgraph widget alive at exit aborts the process)"


def test_wheel_scrolls_ctrl_wheel_zooms_and_no_context_menu(make_viewer):
    viewer = make_viewer(marker_volume(np.diag([1.0, 1.0, 2.0, 1.0])))
    state, axial = viewer.state, viewer.views["axial"]
    start = state.slice_index("axial")
    send_wheel(axial, 2)
    assert state.slice_index("axial") == start + 2
    assert state.cameras["axial"].zoom == 1.0
    send_wheel(axial, 1, Qt.KeyboardModifier.ControlModifier)
    assert state.cameras["axial"].zoom == pytest.approx(1.25)
    assert state.slice_index("axial") == start + 2
    send_click(axial, Qt.MouseButton.RightButton, viewport_point(axial, 10, 10))
    assert QApplication.activePopupWidget() is None


def test_click_moves_the_linked_crosshair_and_right_drag_sets_window(make_viewer):
    viewer = make_viewer(marker_volume(np.diag([1.0, 1.0, 2.0, 1.0])))
    state, axial = viewer.state, viewer.views["axial"]
    send_click(axial, Qt.MouseButton.LeftButton, viewport_point(axial, 5.0, 30.0))
    assert (state.slice_index("sagittal"), state.slice_index("coronal")) == (5, 30)
    coronal = viewer.views["coronal"]
    assert coronal.crosshair[0].value() == pytest.approx(5.0, abs=0.5)
    before = state.window
    send_drag(axial, Qt.MouseButton.RightButton, viewport_point(axial, 10, 10), viewport_point(axial, 30, 10))
    assert state.window.width > before.width and state.window.center == pytest.approx(before.center)
    pan_before = state.cameras["axial"]
    send_drag(axial, Qt.MouseButton.MiddleButton, viewport_point(axial, 10, 10), viewport_point(axial, 20, 10))
    assert state.cameras["axial"].pan_x == pytest.approx(pan_before.pan_x - 10.0, abs=0.5)


def test_window_survives_scrolling_without_auto_levels(make_viewer):
    volume = marker_volume(np.diag([1.0, 1.0, 2.0, 1.0]))
    volume.array[...] = np.arange(volume.array.size, dtype=np.int64).reshape(volume.array.shape) % 200
    viewer = make_viewer(volume)
    state, axial = viewer.state, viewer.views["axial"]
    state.set_window(Window(60, 90))
    for _ in range(3):
        axial.step(1)
        shown = axial.image_item.image
        expected = apply_window(extract_slice(state.array, axial.plane, state.slice_index("axial")), state.window)
        assert np.array_equal(shown, expected)
        assert tuple(axial.image_item.levels) == (0, 255)


def test_keyboard_actions_and_shortcut_list(make_viewer):
    viewer = make_viewer(marker_volume(np.diag([1.0, 1.0, 2.0, 1.0])))
    actions = {action.text(): action for action in viewer.actions()}
    keys = [key.toString() for action in viewer.actions() for key in action.shortcuts()]
    assert len(keys) == len(set(keys)), "a key is bound twice"
    assert {"1", "2", "3", "4", "5", "6", "Up", "PgDown", "Ctrl+2", "I"} <= set(keys)
    assert ("Window / level", "Right-drag (right: wider, down: brighter)") in viewer.mouse_bindings()
    state = viewer.state
    start = state.slice_index("axial")
    actions["Next slice"].trigger()
    actions["10 slices back"].trigger()
    assert state.slice_index("axial") == start - 9
    actions["Window: Lung 1500/-600"].trigger()
    assert (state.window.width, state.window.center) == (1500, -600)
    actions["Invert"].trigger()
    assert state.window.inverted
    actions["Zoom in"].trigger()
    assert state.cameras["axial"].zoom == pytest.approx(1.25)


def test_layouts_and_mip(make_viewer):
    volume = marker_volume(np.diag([1.0, 1.0, 2.0, 1.0]))
    volume.array[...] = np.random.default_rng(0).integers(0, 1000, size=volume.array.shape)
    viewer = make_viewer(volume)
    assert sorted(v.view for v in viewer.visible_views()) == ["axial", "coronal", "sagittal"]
    viewer.set_layout("2x2")
    visible = viewer.visible_views()
    assert len(visible) == 4 and viewer.views["mip"] in visible
    viewer.mip_thickness.setValue(10.0)
    mip_view, state = viewer.views["mip"], viewer.state
    expected = maximum_intensity_projection(state.array, state.planes["axial"], state.slice_index("axial"), 10.0)
    assert np.array_equal(mip_view.image_item.image, apply_window(expected, state.window))
    send_click(viewer.views["coronal"], Qt.MouseButton.LeftButton, viewport_point(viewer.views["coronal"], 3, 3))
    assert mip_view.view == "coronal"
    viewer.set_layout("single")
    assert [v.view for v in viewer.visible_views()] == ["coronal"]


def test_overlay_layers_follow_scroll_and_toggle(make_viewer):
    volume = marker_volume(np.diag([1.0, 1.0, 2.0, 1.0]))
    heat = np.zeros(volume.spatial_shape, dtype=np.float32)
    heat[12, 10:20, 10:20] = 1.0
    viewer = make_viewer(volume)
    viewer.add_overlay(OverlayLayer("saliency", heat, threshold=0.5, opacity=0.6))
    axial = viewer.views["axial"]
    viewer.state.set_slice("axial", 12)
    (item,) = axial._overlay_items
    assert item.image[..., 3].max() == 153 and (item.image[..., 3] > 0).sum() == 100
    axial.step(1)
    assert item.image[..., 3].max() == 0
    panel = viewer.layers_panel
    assert panel.list.count() == 1
    panel.list.item(0).setCheckState(Qt.CheckState.Unchecked)
    assert not item.isVisible() and not viewer.state.layers[0].visible
    panel.opacity.setValue(20)
    assert viewer.state.layers[0].opacity == pytest.approx(0.2)
    panel.remove_button.click()
    assert not viewer.state.layers and not axial._overlay_items


def test_ruler_and_region_tools_fill_the_measurements_panel(make_viewer, tmp_path):
    volume = marker_volume(np.diag([0.5, 0.5, 2.0, 1.0]))
    viewer = make_viewer(volume)
    axial = viewer.views["axial"]
    viewer.set_tool("ruler")
    send_drag(axial, Qt.MouseButton.LeftButton, viewport_point(axial, 2.0, 2.0), viewport_point(axial, 14.0, 2.0))
    viewer.set_tool("rectangle")
    send_drag(axial, Qt.MouseButton.LeftButton, viewport_point(axial, 1.0, 1.0), viewport_point(axial, 9.0, 6.0))
    ruler, region = viewer.state.measurements.items
    assert ruler.length_mm == pytest.approx(12.0, abs=0.3)
    assert region.statistics.area_mm2 == pytest.approx(40.0, rel=0.08)
    panel = viewer.measurements_panel
    assert panel.table.rowCount() == 2
    exported = panel.export(tmp_path / "m.csv").read_text()
    assert "ruler" in exported and "rectangle" in exported
    panel.table.selectRow(0)
    panel.delete_selected()
    assert viewer.state.measurements.items == [region] and panel.table.rowCount() == 1
    assert ruler.id not in axial._measurement_items


def test_readout_shows_voxel_position_and_value(make_viewer):
    volume = marker_volume(np.diag([1.0, 1.0, 2.0, 1.0]))
    viewer = make_viewer(volume)
    axial = viewer.views["axial"]
    seen = []
    viewer.readout_changed.connect(seen.append)
    axial._hover(axial.view_box.viewRect().center())
    assert seen == [axial.readout]
    assert "LPS" in axial.readout and "HU" in axial.readout
    assert axial.readout in axial.corner_labels["bottom_left"].text()
    i, j, k = (int(v) for v in axial.readout.split(")")[0].strip("(").split(","))
    assert axial.readout.endswith(f"{volume.array[k, j, i]} HU")


def test_screenshot_with_and_without_annotations(make_viewer, tmp_path):
    viewer = make_viewer(marker_volume(np.diag([1.0, 1.0, 2.0, 1.0])))
    with_text = image_array(QImage(str(viewer.save_screenshot(tmp_path / "a.png"))))
    without = image_array(QImage(str(viewer.save_screenshot(tmp_path / "b.png", annotations=False))))
    assert with_text.shape == without.shape and np.any(with_text != without)
    assert all(label.isVisible() for label in viewer.views["axial"].edge_labels.values())


def test_time_slider_for_4d_series(make_viewer):
    volume = marker_volume(np.diag([1.0, 1.0, 2.0, 1.0]))
    four_d = volume.with_array(np.stack([volume.array, volume.array + 50]))
    viewer = make_viewer(four_d)
    assert viewer.time_slider.isVisible() and viewer.time_slider.maximum() == 1
    before = viewer.views["axial"].image_item.image.copy()
    viewer.time_slider.setValue(1)
    assert viewer.state.time_index == 1
    assert not np.array_equal(before, viewer.views["axial"].image_item.image)


def test_single_slice_images_open_in_a_single_view(make_viewer):
    volume = marker_volume(np.diag([0.2, 0.2, 1.0, 1.0]), shape=(1, 64, 48))
    viewer = make_viewer(volume, layout=None)
    assert viewer.layout_name == "single" and len(viewer.visible_views()) == 1


def test_cine_advances_and_wraps(make_viewer, qtbot):
    viewer = make_viewer(marker_volume(np.diag([1.0, 1.0, 2.0, 1.0])))
    state = viewer.state
    state.set_slice("axial", state.planes["axial"].n_slices - 1)
    viewer.cine_fps.setValue(60)
    viewer.cine_action.trigger()
    qtbot.waitUntil(lambda: state.slice_index("axial") == 1, timeout=3000)
    viewer.cine_action.trigger()
    assert not viewer.cine_timer.isActive()


def test_images_without_patient_geometry_get_no_orientation_letters(make_viewer):
    volume = marker_volume(np.diag([0.2, 0.2, 1.0, 1.0]), shape=(1, 64, 48))
    volume.has_patient_geometry = False
    volume.warnings.append(NO_GEOMETRY_WARNING)
    viewer = make_viewer(volume, layout=None)
    (view,) = viewer.visible_views()
    assert {label.text() for label in view.edge_labels.values()} == {"?"}
    assert "No patient position" in view.corner_labels["top_right"].text()


def test_colour_volumes_show_their_colours(make_viewer):
    from medstation.core.volume import Volume

    rgb = np.zeros((1, 20, 30, 3), dtype=np.uint8)
    rgb[..., 0] = 200
    rgb[:, :, 15:, 2] = 90
    viewer = make_viewer(Volume(rgb, np.eye(4), is_rgb=True), layout=None)
    (view,) = viewer.visible_views()
    shown = view.image_item.image
    assert shown.shape == (20, 30, 3)
    assert shown[0, 0].tolist() == [200, 0, 0] and shown[0, 29].tolist() == [200, 0, 90]
    view._hover(view.view_box.viewRect().center())
    assert "RGB 200, 0" in view.readout


def test_ruler_and_region_on_an_image_of_unknown_pixel_size_measure_in_pixels(make_viewer):
    volume = marker_volume(np.eye(4))
    volume.spacing_known = False
    viewer = make_viewer(volume)
    axial = viewer.views["axial"]
    viewer.set_tool("ruler")
    send_drag(axial, Qt.MouseButton.LeftButton, viewport_point(axial, 2.0, 2.0), viewport_point(axial, 14.0, 2.0))
    viewer.set_tool("rectangle")
    send_drag(axial, Qt.MouseButton.LeftButton, viewport_point(axial, 1.0, 1.0), viewport_point(axial, 9.0, 6.0))
    ruler, region = viewer.state.measurements.items
    assert ruler.unit == region.unit == "px"
    texts = [viewer.measurements_panel.table.item(row, 4).text() for row in range(2)]
    assert texts[0].endswith(" px") and texts[1].endswith(" px²"), texts
    assert "mm" not in " ".join(texts)
    axial._hover(axial.view_box.viewRect().center())
    assert axial.readout.startswith("(") and "LPS" not in axial.readout and "mm" not in axial.readout


def test_keys_one_to_six_offer_percentile_windows_on_mr_and_name_them(make_viewer):
    volume = marker_volume(np.diag([1.0, 1.0, 2.0, 1.0]))
    volume.info.modality = "MR"
    volume.array[...] = np.random.default_rng(1).integers(1, 2000, size=volume.array.shape)
    viewer = make_viewer(volume)
    texts = [action.text() for action in viewer.preset_actions if action.isVisible()]
    assert texts and not any("Lung" in text or "Brain" in text for text in texts), texts
    viewer.preset_actions[0].trigger()
    assert viewer.state.window.name == "Auto"
    assert "Auto" in viewer.views["axial"].corner_labels["bottom_right"].text()
    assert not viewer.preset_actions[5].isEnabled(), "five presets on MR: key 6 does nothing"


def test_measurements_of_a_series_come_back_when_it_is_reopened(make_viewer, tmp_path):
    from medstation.io.measurement_store import MeasurementStore

    volume = marker_volume(np.diag([0.5, 0.5, 2.0, 1.0]))
    volume.info.series_uid, volume.info.study_uid = "1.2.3.4", "1.2.3"
    viewer = make_viewer(volume)
    viewer.measurement_store = MeasurementStore(tmp_path)
    viewer.set_volume(volume)
    axial = viewer.views["axial"]
    viewer.set_tool("ruler")
    send_drag(axial, Qt.MouseButton.LeftButton, viewport_point(axial, 2.0, 2.0), viewport_point(axial, 14.0, 2.0))
    length = viewer.state.measurements.items[0].length_mm
    other = marker_volume(np.diag([1.0, 1.0, 1.0, 1.0]))
    other.info.series_uid = "1.2.3.5"
    viewer.set_volume(other)
    assert viewer.state.measurements.items == []
    viewer.set_volume(volume)
    (ruler,) = viewer.state.measurements.items
    assert ruler.length_mm == pytest.approx(length) and ruler.id == 1
    assert ruler.id in viewer.views["axial"]._measurement_items
    assert viewer.measurements_panel.table.rowCount() == 1


def test_after_a_layout_change_the_keys_reach_the_active_view_and_texts_follow_their_view(make_viewer, qtbot):
    viewer = make_viewer(marker_volume(np.diag([1.0, 1.0, 2.0, 1.0])), layout="1x3", size=(1200, 520))
    viewer.set_tool("ruler")
    viewer.set_layout("2x2")
    qtbot.waitUntil(lambda: viewer.views["axial"].hasFocus(), timeout=5_000)
    for view in viewer.visible_views():
        bottom = view.corner_labels["bottom_right"]
        assert bottom.y() + bottom.height() <= view.height() and bottom.y() > view.height() // 2, view.view
        assert view.tool == "ruler"
    viewer.set_volume(marker_volume(np.diag([1.0, 1.0, 1.0, 1.0])))
    assert all(view.tool == "ruler" for view in viewer.views.values()), "a new series keeps the chosen tool"
    viewer.resize(1200, 900)
    QApplication.processEvents()
    for view in viewer.visible_views():
        bottom = view.corner_labels["bottom_left"]
        assert view.height() - (bottom.y() + bottom.height()) <= 8, "bottom text sits at the bottom after a resize"


def test_the_slice_number_is_never_cut_from_a_narrow_view(make_viewer):
    viewer = make_viewer(marker_volume(np.diag([0.5, 0.5, 2.0, 1.0]), shape=(24, 300, 300)), layout="1x3",
                         size=(700, 500))
    for view in viewer.visible_views():
        first = view.corner_labels["bottom_left"].text().splitlines()[0]
        n_slices = view.plane.n_slices
        assert f"/{n_slices}" in first and "…" not in first, first
