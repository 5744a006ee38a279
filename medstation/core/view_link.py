"""Two viewers linked for comparison: scrolling, crosshair, zoom/pan and window of one followed by the other.

Two series are linked **by patient position** when they share a frame of reference (FrameOfReferenceUID,
0020,0052) and both have patient geometry: their LPS coordinates name the same places, so the current point
(LPS, mm) is copied, the same point stays under the crosshair in both whatever their spacing and origin, and
zoom/pan show the same place at the same scale (mm per screen pixel). Otherwise (a prior from another visit, a
NIfTI file) they are linked **by slice fraction**: the point sits at the same fraction of each volume's extent
along each patient axis (the middle slice of one shows the middle slice of the other), and zoom/pan are the same
relative to each picture's size.

The window is copied as it is between series of one modality (the same HU on both CTs); between modalities it is
mapped so that one series' opening window gives the other's, and a drag widens both alike.

The link subscribes to both :class:`~medstation.core.view_state.ViewState` s' events and changes the other state;
while it does so it ignores the events that change causes, so nothing bounces back (a point clamped at the edge of
the smaller volume does not pull the first one back). Each side keeps its own active view and layout.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from medstation.core.events import Event
from medstation.core.reslice import VIEWS
from medstation.core.view_state import Camera, ViewState
from medstation.core.volume import Volume
from medstation.core.window_level import Window, default_window

POSITION = "position"
FRACTION = "fraction"

ViewportSize = Callable[[ViewState, str], tuple[float, float]]
"""``(width, height)`` in screen pixels of the view of a state (equal for both sides when not known)."""


def share_patient_coordinates(first: Volume, second: Volume) -> bool:
    """True when both volumes carry one FrameOfReferenceUID and patient geometry: one LPS point, one place."""
    uid = first.info.frame_of_reference_uid
    return bool(uid) and uid == second.info.frame_of_reference_uid and (
        first.has_patient_geometry and second.has_patient_geometry)


class ViewLink:
    """Links ``first`` (the current series) and ``second`` (the compared one) while :attr:`linked`.

    Parameters
    ----------
    first, second
        The two viewers' models.
    linked
        Start linked: ``second`` is aligned to ``first`` at once.
    viewport_size
        The pixel size of a state's view, so that linking by position gives the same mm per pixel on two views of
        different shapes; without it both are taken as square.

    Events
    ------
    changed()
        :attr:`linked` was switched.
    """

    def __init__(self, first: ViewState, second: ViewState, linked: bool = True,
                 viewport_size: ViewportSize | None = None) -> None:
        self.first, self.second = first, second
        self.mode = POSITION if share_patient_coordinates(first.volume, second.volume) else FRACTION
        """:data:`POSITION` or :data:`FRACTION`, from the two volumes' frames of reference."""
        self.linked = False
        self.viewport_size = viewport_size
        self.changed = Event()
        self._opening_windows: dict[int, Window] = {}
        self._toward_patient = {id(state): {view: _slices_run_along_normal(state.planes[view]) for view in VIEWS}
                                for state in (first, second)}
        self._following = False
        self._subscriptions = []
        for source, target in ((first, second), (second, first)):
            self._subscriptions += [
                (source.point_changed, lambda s=source, t=target: self._follow(self.follow_point, s, t)),
                (source.window_changed, lambda s=source, t=target: self._follow(self.follow_window, s, t)),
                (source.camera_changed,
                 lambda view, s=source, t=target: self._follow(self.follow_camera, s, t, view)),
            ]
        for event, callback in self._subscriptions:
            event.connect(callback)
        self.set_linked(linked)

    def set_linked(self, linked: bool) -> None:
        """Link or unlink; linking aligns ``second`` with ``first`` (point, window, every camera)."""
        if linked == self.linked:
            return
        self.linked = linked
        if linked:
            self.align()
        self.changed.emit()

    def align(self) -> None:
        """Bring ``second`` to where ``first`` is: point, window and the camera of every view."""
        self._follow(self._align, self.first, self.second)

    def align_camera(self, view: str) -> None:
        """Bring ``second``'s camera of ``view`` to ``first``'s (a view changed size: its mm per pixel did too)."""
        self._follow(self.follow_camera, self.first, self.second, view)

    def close(self) -> None:
        """Stop listening to both states (before either is dropped)."""
        for event, callback in self._subscriptions:
            event.disconnect(callback)
        self._subscriptions = []
        self.linked = False

    # following ------------------------------------------------------------------------------------
    def _follow(self, action, source: ViewState, target: ViewState, *args) -> None:
        if not self.linked or self._following:
            return
        self._following = True
        try:
            action(source, target, *args)
        finally:
            self._following = False

    def _align(self, source: ViewState, target: ViewState) -> None:
        self.follow_point(source, target)
        self.follow_window(source, target)
        for view in VIEWS:
            self.follow_camera(source, target, view)

    def follow_point(self, source: ViewState, target: ViewState) -> None:
        target.set_voxel(self.mapped_voxel(source, target))

    def follow_window(self, source: ViewState, target: ViewState) -> None:
        target.set_window(self.mapped_window(source, target))

    def follow_camera(self, source: ViewState, target: ViewState, view: str) -> None:
        target.set_camera(view, self.mapped_camera(source, target, view))

    # mappings ---------------------------------------------------------------------------------------
    def mapped_voxel(self, source: ViewState, target: ViewState) -> np.ndarray:
        """Continuous voxel ``(i, j, k)`` of ``target`` for ``source``'s current point (before clamping)."""
        if self.mode == POSITION:
            return target.volume.patient_to_voxel(source.point)
        voxel, source_voxel = np.empty(3), source.voxel
        for view in VIEWS:
            plane = source.planes[view]
            extent = plane.n_slices - 1
            fraction = source_voxel[plane.normal_axis] / extent if extent > 0 else 0.5
            if not self._toward_patient[id(source)][view]:
                fraction = 1.0 - fraction  # now 0 at one end, 1 at the other, toward S, P or R in every volume
            plane = target.planes[view]
            if not self._toward_patient[id(target)][view]:
                fraction = 1.0 - fraction
            voxel[plane.normal_axis] = fraction * max(plane.n_slices - 1, 0)
        return voxel

    def mapped_window(self, source: ViewState, target: ViewState) -> Window:
        """``source``'s window for ``target``: the same values for one modality, else scaled between their opening
        windows."""
        window = source.window
        modality = source.volume.info.modality.upper()
        if modality and modality == target.volume.info.modality.upper():
            return window
        opened_source, opened_target = (self._opening_window(state) for state in (source, target))
        scale = opened_target.width / opened_source.width
        inverted = window.inverted != (opened_source.inverted != opened_target.inverted)
        return Window(window.width * scale, opened_target.center + (window.center - opened_source.center) * scale,
                      inverted=inverted)

    def _opening_window(self, state: ViewState) -> Window:
        if id(state) not in self._opening_windows:
            self._opening_windows[id(state)] = default_window(state.volume)
        return self._opening_windows[id(state)]

    def mapped_camera(self, source: ViewState, target: ViewState, view: str) -> Camera:
        """``target``'s camera of ``view`` for ``source``'s: the same place and mm per pixel when linked by position,
        the same zoom and relative pan by fraction."""
        camera = source.cameras[view]
        source_plane, target_plane = source.planes[view], target.planes[view]
        sx0, sy0, sx1, sy1 = source_plane.screen_extent()
        tx0, ty0, tx1, ty1 = target_plane.screen_extent()
        if self.mode == FRACTION:
            return replace(camera, pan_x=camera.pan_x * (tx1 - tx0) / (sx1 - sx0),
                           pan_y=camera.pan_y * (ty1 - ty0) / (sy1 - sy0))
        centre = source_plane.screen_to_patient((sx0 + sx1) / 2 + camera.pan_x, (sy0 + sy1) / 2 + camera.pan_y)
        x, y = target_plane.screen_of_patient(centre)
        source_pixels, target_pixels = (self._viewport(state, view) for state in (source, target))
        mm_per_pixel = max((sx1 - sx0) / source_pixels[0], (sy1 - sy0) / source_pixels[1]) / camera.zoom
        zoom = max((tx1 - tx0) / target_pixels[0], (ty1 - ty0) / target_pixels[1]) / mm_per_pixel
        return Camera(zoom=float(zoom), pan_x=float(x - (tx0 + tx1) / 2), pan_y=float(y - (ty0 + ty1) / 2))

    def _viewport(self, state: ViewState, view: str) -> tuple[float, float]:
        if self.viewport_size is None:
            return 1.0, 1.0
        width, height = self.viewport_size(state, view)
        return max(float(width), 1.0), max(float(height), 1.0)


def _slices_run_along_normal(plane) -> bool:
    """True when increasing slice index moves along the plane's normal (toward S in axial, P coronal, R sagittal)."""
    return bool(np.dot(plane.slice_step, plane.plane_normal) >= 0)
