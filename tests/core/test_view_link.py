"""Two viewer models linked for comparison: by patient position in one frame of reference, else by slice fraction."""

from __future__ import annotations

import numpy as np
import pytest

from medstation.core.view_link import FRACTION, POSITION, ViewLink, share_patient_coordinates
from medstation.core.view_state import Camera, ViewState
from medstation.core.volume import Volume, VolumeInfo, WindowPreset
from medstation.core.window_level import Window

FRAME = "1.2.826.0.1.3680043.8.498.1"


def volume(spacing, origin, shape, frame=FRAME, modality="CT", flip_k=False, window=(40, 400)) -> Volume:
    """Zeros of ``shape`` ``[k, j, i]`` with axes along L, P, S (or k toward I with ``flip_k``)."""
    affine = np.diag([*spacing, 1.0])
    affine[:3, 3] = origin
    if flip_k:
        affine[2, 2] = -affine[2, 2]
    info = VolumeInfo(modality=modality, frame_of_reference_uid=frame, window_presets=[WindowPreset(*window)])
    return Volume(np.zeros(shape, dtype=np.int16), affine, info)


def current_and_other(frame_b=FRAME, **options) -> tuple[ViewState, ViewState]:
    """Two CTs of one region with different spacing, origin and size (one frame of reference unless told)."""
    a = ViewState(volume((0.8, 0.8, 2.0), (0.0, 0.0, 0.0), (40, 50, 60)))
    b = ViewState(volume((0.5, 0.6, 3.0), (-4.0, 3.0, 5.0), (30, 90, 100), frame=frame_b, **options))
    return a, b


def recorder(state: ViewState) -> list[str]:
    seen: list[str] = []
    for name in ("point_changed", "window_changed", "camera_changed", "active_view_changed"):
        getattr(state, name).connect(lambda *args, name=name: seen.append(name))
    return seen


def test_one_frame_of_reference_links_by_patient_position_both_ways():
    a, b = current_and_other()
    link = ViewLink(a, b)
    assert link.mode == POSITION and link.linked
    np.testing.assert_allclose(b.point, a.point, atol=1e-9)
    a.set_point(np.array([10.0, 12.0, 30.0]))
    np.testing.assert_allclose(b.point, [10.0, 12.0, 30.0], atol=1e-9)
    assert b.slice_index("axial") == round((30.0 - 5.0) / 3.0)
    for _ in range(4):
        a.step_slice("axial", 1)
        np.testing.assert_allclose(b.point, a.point, atol=1e-9, err_msg="the point under both crosshairs")
    b.step_slice("axial", -2)
    assert a.point[2] == pytest.approx(b.point[2]) and b.point[2] == pytest.approx(5.0 + 3.0 * b.slice_index("axial"))


def test_a_point_outside_the_other_volume_clamps_there_without_pulling_the_first_back():
    a, b = current_and_other()
    ViewLink(a, b)
    seen_a, seen_b = recorder(a), recorder(b)
    a.set_point(np.array([10.0, 12.0, 77.0]))  # inside both: a spans z 0-78 mm, b 5-92 mm
    a.set_point(np.array([1.0, 12.0, 0.0]))  # below b's first slice
    assert a.point[2] == pytest.approx(0.0)
    assert b.point[2] == pytest.approx(5.0) and b.slice_index("axial") == 0
    assert seen_a == ["point_changed"] * 2 and seen_b == ["point_changed"] * 2, "one event each, no echo"


def test_different_frames_of_reference_link_by_slice_fraction_in_the_same_patient_direction():
    a, b = current_and_other(frame_b="1.2.3.999", flip_k=True)
    link = ViewLink(a, b)
    assert link.mode == FRACTION
    a.set_voxel(np.array([0.0, 49.0, 0.0]))
    # a's slice 0 is its inferior end; b's k axis runs toward inferior, so its inferior end is its last slice
    assert b.slice_index("axial") == 29
    assert b.slice_index("coronal") == 89 and b.slice_index("sagittal") == 0
    a.set_voxel(np.array([59.0 / 2, 49.0 / 2, 39.0]))
    np.testing.assert_allclose(b.voxel, [99.0 / 2, 89.0 / 2, 0.0])
    b.step_slice("axial", 3)  # toward inferior in b
    assert a.slice_index("axial") == round(39 - 39 * 3 / 29)


def test_series_without_a_frame_of_reference_or_patient_geometry_are_linked_by_fraction():
    a, b = current_and_other()
    assert share_patient_coordinates(a.volume, b.volume)
    b.volume.has_patient_geometry = False
    assert not share_patient_coordinates(a.volume, b.volume)
    a, b = current_and_other(frame_b="")
    a.volume.info.frame_of_reference_uid = ""
    assert not share_patient_coordinates(a.volume, b.volume)
    assert ViewLink(a, b).mode == FRACTION


def test_the_toggle_unlinks_and_relinking_aligns_the_other_series():
    a, b = current_and_other()
    link = ViewLink(a, b)
    switched: list[bool] = []
    link.changed.connect(lambda: switched.append(link.linked))
    link.set_linked(False)
    b_camera = b.cameras["axial"]
    a.set_point(np.array([10.0, 12.0, 30.0]))
    a.set_window(Window(1500, -600))
    a.zoom("axial", 2.0)
    b_point = b.point
    assert not np.allclose(b_point, a.point) and b.window != a.window and b.cameras["axial"] == b_camera
    b.step_slice("axial", 1)
    assert a.point[2] == pytest.approx(30.0), "unlinked: the current series stays"
    link.set_linked(True)
    np.testing.assert_allclose(b.point, a.point, atol=1e-9)
    assert b.window == a.window and b.cameras["axial"].zoom == pytest.approx(2 * b_camera.zoom)
    assert switched == [False, True]


def test_window_is_shared_within_a_modality_and_scaled_between_modalities():
    a, b = current_and_other()
    ViewLink(a, b)
    a.set_window(Window(80, 40, name="Brain"))
    assert b.window == Window(80, 40, name="Brain")
    b.toggle_invert()
    assert a.window.inverted

    ct = ViewState(volume((1, 1, 1), (0, 0, 0), (10, 10, 10), window=(40, 400)))
    mr = ViewState(volume((1, 1, 1), (0, 0, 0), (10, 10, 10), modality="MR", window=(600, 1200)))
    ViewLink(ct, mr)
    assert (mr.window.width, mr.window.center) == pytest.approx((1200, 600)), "each opens with its own window"
    ct.set_window(Window(800, 140))
    assert (mr.window.width, mr.window.center) == pytest.approx((2400, 900))
    mr.set_window(Window(1200, 600))
    assert (ct.window.width, ct.window.center) == pytest.approx((400, 40))


def test_zoom_and_pan_show_the_same_place_at_the_same_scale_in_one_frame_of_reference():
    a, b = current_and_other()
    sizes = {id(a): (400, 400), id(b): (400, 600)}
    ViewLink(a, b, viewport_size=lambda state, view: sizes[id(state)])
    a.set_camera("axial", Camera(zoom=2.5, pan_x=6.0, pan_y=-4.0))

    def shown(state: ViewState) -> tuple[np.ndarray, float]:
        """LPS of the view's centre and mm per screen pixel."""
        plane, camera = state.planes["axial"], state.cameras["axial"]
        x0, y0, x1, y1 = plane.screen_extent()
        centre = plane.screen_to_patient((x0 + x1) / 2 + camera.pan_x, (y0 + y1) / 2 + camera.pan_y)
        width, height = sizes[id(state)]
        return centre, max((x1 - x0) / width, (y1 - y0) / height) / camera.zoom

    (centre_a, scale_a), (centre_b, scale_b) = shown(a), shown(b)
    np.testing.assert_allclose(centre_b[:2], centre_a[:2], atol=1e-9)
    assert scale_b == pytest.approx(scale_a)
    b.pan("axial", -3.0, 2.0)
    np.testing.assert_allclose(shown(a)[0][:2], shown(b)[0][:2], atol=1e-9)
    assert a.cameras["coronal"] == Camera(), "other views keep their cameras"


def test_zoom_and_pan_by_fraction_are_relative_to_each_picture():
    a, b = current_and_other(frame_b="other")
    ViewLink(a, b)
    a.set_camera("coronal", Camera(zoom=3.0, pan_x=4.8, pan_y=-8.0))
    ax0, ay0, ax1, ay1 = a.planes["coronal"].screen_extent()
    bx0, by0, bx1, by1 = b.planes["coronal"].screen_extent()
    camera = b.cameras["coronal"]
    assert camera.zoom == pytest.approx(3.0)
    assert camera.pan_x / (bx1 - bx0) == pytest.approx(4.8 / (ax1 - ax0))
    assert camera.pan_y / (by1 - by0) == pytest.approx(-8.0 / (ay1 - ay0))
    b.reset_cameras()
    assert a.cameras["coronal"] == Camera()


def test_closing_the_link_stops_following():
    a, b = current_and_other()
    link = ViewLink(a, b)
    link.close()
    before = b.point
    a.step_slice("axial", 5)
    np.testing.assert_allclose(b.point, before)
    assert not link.linked
