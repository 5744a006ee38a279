"""The viewer model: linked point, slices, time, window, cameras, layers and their events."""

from __future__ import annotations

import numpy as np
import pytest

from medstation.core.layers import OverlayLayer
from medstation.core.view_state import MAX_ZOOM, ViewState
from medstation.core.volume import Volume, VolumeInfo, WindowPreset


def make_state(shape=(20, 30, 40), n_volumes: int = 1) -> ViewState:
    array = np.arange(np.prod(shape) * n_volumes, dtype=np.int32).reshape((n_volumes, *shape) if n_volumes > 1
                                                                            else shape)
    info = VolumeInfo(modality="CT", window_presets=[WindowPreset(12000, 24000)])
    return ViewState(Volume(array, np.diag([0.8, 0.8, 2.0, 1.0]), info))


def recorder(state: ViewState) -> list[str]:
    seen: list[str] = []
    for name in ("point_changed", "time_changed", "window_changed", "camera_changed", "layers_changed",
                 "mip_changed", "active_view_changed"):
        getattr(state, name).connect(lambda *args, name=name: seen.append(name))
    return seen


def test_starts_in_the_middle_with_the_header_window():
    state = make_state()
    assert [state.slice_index(v) for v in ("axial", "coronal", "sagittal")] == [9, 14, 19]
    assert (state.window.width, state.window.center) == (24000, 12000)


def test_one_point_links_every_view():
    state = make_state()
    seen = recorder(state)
    state.set_point(state.volume.voxel_to_patient(np.array([5.0, 7.0, 3.0])))
    assert (state.slice_index("sagittal"), state.slice_index("coronal"), state.slice_index("axial")) == (5, 7, 3)
    state.step_slice("axial", 4)
    assert state.slice_index("axial") == 7 and state.slice_index("coronal") == 7
    state.step_slice("axial", 1000)
    assert state.slice_index("axial") == 19
    assert seen == ["point_changed"] * 3
    state.set_slice("axial", 19)
    assert seen == ["point_changed"] * 3, "no event when nothing changed"


def test_window_presets_keep_inversion():
    state = make_state()
    state.toggle_invert()
    state.apply_preset(3)
    assert (state.window.width, state.window.center, state.window.inverted) == (1500, -600, True)
    state.apply_default_window()
    assert (state.window.width, state.window.inverted) == (24000, True)


def test_cameras_zoom_pan_and_reset():
    state = make_state()
    seen = recorder(state)
    state.zoom("coronal", 2.0)
    state.pan("coronal", 5.0, -3.0)
    assert state.cameras["coronal"].zoom == 2.0 and state.cameras["coronal"].pan_y == -3.0
    assert state.cameras["axial"].zoom == 1.0
    state.zoom("coronal", 1e6)
    assert state.cameras["coronal"].zoom == MAX_ZOOM
    state.reset_cameras()
    assert state.cameras["coronal"].zoom == 1.0
    assert seen == ["camera_changed"] * 4


def test_time_points_of_a_4d_series():
    state = make_state(n_volumes=3)
    assert state.array.shape == (20, 30, 40)
    state.set_time(2)
    assert state.array[0, 0, 0] == 2 * 20 * 30 * 40
    state.set_time(99)
    assert state.time_index == 2


def test_layers_must_align_with_the_volume():
    state = make_state()
    seen = recorder(state)
    layer = OverlayLayer("heat", np.zeros((20, 30, 40), np.float32))
    state.add_layer(layer)
    state.update_layer(layer, opacity=0.8)
    assert layer.opacity == 0.8
    with pytest.raises(ValueError, match="shape"):
        state.add_layer(OverlayLayer("wrong", np.zeros((20, 30, 41), np.float32)))
    state.remove_layer(layer)
    assert seen == ["layers_changed"] * 3


def test_mip_and_active_view_events():
    state = make_state()
    seen = recorder(state)
    state.set_mip_thickness(10.0)
    state.set_active_view("coronal")
    state.set_active_view("coronal")
    assert seen == ["mip_changed", "active_view_changed"]


def test_edge_labels_come_from_the_affine_then_patient_orientation_then_question_marks():
    volume = Volume(np.zeros((1, 30, 40), dtype=np.int16), np.diag([0.2, 0.2, 1.0, 1.0]),
                    VolumeInfo(modality="DX", patient_orientation=("A", "F")))
    assert ViewState(volume).edge_labels("axial") == {"left": "R", "right": "L", "top": "A", "bottom": "P"}
    volume.has_patient_geometry = False
    assert ViewState(volume).edge_labels("axial") == {"left": "P", "right": "A", "top": "H", "bottom": "F"}
    volume.info.patient_orientation = None
    assert ViewState(volume).edge_labels("axial") == dict.fromkeys(("left", "right", "top", "bottom"), "?")
