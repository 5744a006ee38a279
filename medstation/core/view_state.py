"""The viewer's model: current point (LPS, mm), time, window, cameras, overlay layers and measurements.

Views subscribe to the events and never talk to each other, so linked MPR follows from one shared state:
a click in one view moves ``point`` and every view re-slices and redraws its crosshair.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from medstation.core.events import Event
from medstation.core.layers import OverlayLayer
from medstation.core.measurements import MeasurementList
from medstation.core.reslice import VIEWS, DisplayPlane, display_plane
from medstation.core.volume import Volume
from medstation.core.window_level import Window, auto_window, default_window, modality_presets

MIN_ZOOM, MAX_ZOOM = 0.1, 40.0
DEFAULT_MIP_THICKNESS_MM = 20.0


@dataclass(frozen=True)
class Camera:
    """Zoom (1 = whole slice fits the view) and pan (mm on screen, x right, y down) of one view."""

    zoom: float = 1.0
    pan_x: float = 0.0
    pan_y: float = 0.0


class ViewState:
    """Shared state of the views of one volume.

    Events (``Event`` objects; callbacks get the arguments shown):
    ``point_changed()``, ``time_changed()``, ``window_changed()``, ``camera_changed(view)``,
    ``layers_changed()``, ``mip_changed()``, ``active_view_changed(view)``.
    """

    def __init__(self, volume: Volume) -> None:
        self.volume = volume
        self.planes: dict[str, DisplayPlane] = {
            view: display_plane(volume.affine, volume.spatial_shape, view) for view in VIEWS
        }
        n_k, n_j, n_i = volume.spatial_shape
        self._voxel = np.array([(n_i - 1) // 2, (n_j - 1) // 2, (n_k - 1) // 2], dtype=np.float64)
        self.time_index = 0
        self.window = default_window(volume)
        self.presets = modality_presets(volume)
        """Windows of keys 1-6: Hounsfield presets for CT, percentile windows of the image otherwise."""
        self.value_span = float(np.ptp(volume.array[:: max(1, volume.array.shape[0] // 16)]))
        """Range of values (real-world units) of a sample of the volume; scales window drags."""
        self.cameras: dict[str, Camera] = {view: Camera() for view in VIEWS}
        self.layers: list[OverlayLayer] = []
        self.measurements = MeasurementList()
        self.mip_thickness_mm = DEFAULT_MIP_THICKNESS_MM
        self.active_view = "axial"
        self.point_changed = Event()
        self.time_changed = Event()
        self.window_changed = Event()
        self.camera_changed = Event()
        self.layers_changed = Event()
        self.mip_changed = Event()
        self.active_view_changed = Event()

    # data ------------------------------------------------------------------------------------------
    def edge_labels(self, view: str) -> dict[str, str]:
        """Orientation letters of ``view``'s ``left``, ``right``, ``top`` and ``bottom`` edges.

        They come from the affine; for an image without patient geometry (nominal affine, drawn as stored)
        from its PatientOrientation, and ``"?"`` where neither tells.
        """
        plane = self.planes[view]
        if self.volume.has_patient_geometry:
            return plane.labels
        orientation = self.volume.info.patient_orientation
        if orientation is None:
            return dict.fromkeys(("left", "right", "top", "bottom"), "?")
        return plane.stored_image_labels(orientation)

    @property
    def array(self) -> np.ndarray:
        """The ``[k, j, i]`` voxels at the current time point (a view of the volume's array)."""
        return self.volume.array[self.time_index] if self.volume.n_volumes > 1 else self.volume.array


    # point and slices ------------------------------------------------------------------------------
    @property
    def point(self) -> np.ndarray:
        """Current point (crosshair) in LPS, mm."""
        return self.volume.voxel_to_patient(self._voxel)

    @property
    def voxel(self) -> np.ndarray:
        """Current point as continuous voxel indices ``(i, j, k)``."""
        return self._voxel.copy()

    def set_voxel(self, ijk: np.ndarray) -> None:
        """Move the current point to voxel ``(i, j, k)`` (continuous; clamped to the volume)."""
        n_k, n_j, n_i = self.volume.spatial_shape
        clamped = np.clip(np.asarray(ijk, dtype=np.float64), 0, np.array([n_i, n_j, n_k]) - 1)
        if not np.array_equal(clamped, self._voxel):
            self._voxel = clamped
            self.point_changed.emit()

    def set_point(self, lps: np.ndarray) -> None:
        """Move the current point to an LPS position (mm), clamped to the volume."""
        self.set_voxel(self.volume.patient_to_voxel(lps))

    def slice_index(self, view: str) -> int:
        """Index of the slice ``view`` shows (voxel index along the view's normal axis)."""
        return round(self._voxel[self.planes[view].normal_axis])

    def set_slice(self, view: str, index: int) -> None:
        """Show slice ``index`` in ``view`` (clamped), keeping the in-plane position."""
        voxel = self._voxel.copy()
        voxel[self.planes[view].normal_axis] = int(index)
        self.set_voxel(voxel)

    def step_slice(self, view: str, steps: int) -> None:
        """Move ``steps`` slices along ``view``'s normal axis (positive: increasing voxel index)."""
        self.set_slice(view, self.slice_index(view) + int(steps))

    def set_active_view(self, view: str) -> None:
        """The view the keyboard and the MIP follow."""
        if view != self.active_view:
            self.active_view = view
            self.active_view_changed.emit(view)

    # time ------------------------------------------------------------------------------------------
    def set_time(self, index: int) -> None:
        """Show volume ``index`` of a ``[t, k, j, i]`` series (clamped)."""
        index = int(np.clip(index, 0, self.volume.n_volumes - 1))
        if index != self.time_index:
            self.time_index = index
            self.time_changed.emit()

    # window ----------------------------------------------------------------------------------------
    def set_window(self, window: Window) -> None:
        """Display window for every view."""
        if window != self.window:
            self.window = window
            self.window_changed.emit()

    def apply_preset(self, number: int) -> None:
        """Preset ``number`` of :attr:`presets` (from 1), keeping inversion; a number beyond them does nothing."""
        if 1 <= number <= len(self.presets):
            self.set_window(replace(self.presets[number - 1], inverted=self.window.inverted))

    def apply_default_window(self) -> None:
        """The header's window (or the percentile window when there is none)."""
        self.set_window(replace(default_window(self.volume), inverted=self.window.inverted))

    def apply_auto_window(self) -> None:
        """Percentile window of the current volume (for MR), keeping inversion."""
        self.set_window(replace(auto_window(self.array), inverted=self.window.inverted))

    def toggle_invert(self) -> None:
        self.set_window(replace(self.window, inverted=not self.window.inverted))

    # cameras ---------------------------------------------------------------------------------------
    def set_camera(self, view: str, camera: Camera) -> None:
        camera = replace(camera, zoom=float(np.clip(camera.zoom, MIN_ZOOM, MAX_ZOOM)))
        if camera != self.cameras[view]:
            self.cameras[view] = camera
            self.camera_changed.emit(view)

    def zoom(self, view: str, factor: float) -> None:
        """Multiply ``view``'s zoom by ``factor``."""
        camera = self.cameras[view]
        self.set_camera(view, replace(camera, zoom=camera.zoom * factor))

    def pan(self, view: str, dx_mm: float, dy_mm: float) -> None:
        """Move ``view``'s picture by ``(dx, dy)`` mm on screen (x right, y down)."""
        camera = self.cameras[view]
        self.set_camera(view, replace(camera, pan_x=camera.pan_x + dx_mm, pan_y=camera.pan_y + dy_mm))

    def reset_cameras(self) -> None:
        for view in VIEWS:
            self.set_camera(view, Camera())

    # layers ----------------------------------------------------------------------------------------
    def add_layer(self, layer: OverlayLayer) -> None:
        """Add an overlay aligned with the volume (``layer.data`` has the volume's spatial shape)."""
        expected = self.volume.spatial_shape
        if tuple(layer.data.shape[-3:]) != expected:
            raise ValueError(f"overlay {layer.name!r} has shape {layer.data.shape}, the volume {expected}")
        self.layers.append(layer)
        self.layers_changed.emit()

    def remove_layer(self, layer: OverlayLayer) -> None:
        self.layers.remove(layer)
        self.layers_changed.emit()

    def update_layer(self, layer: OverlayLayer, **changes) -> None:
        """Change a layer's display attributes (``opacity``, ``threshold``, ``visible``, ``colormap`` ...)."""
        for name, value in changes.items():
            setattr(layer, name, value)
        self.layers_changed.emit()

    # MIP -------------------------------------------------------------------------------------------
    def set_mip_thickness(self, thickness_mm: float) -> None:
        """Slab thickness (mm) of the maximum-intensity projection."""
        if thickness_mm != self.mip_thickness_mm:
            self.mip_thickness_mm = float(max(thickness_mm, 0.0))
            self.mip_changed.emit()
