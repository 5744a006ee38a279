"""Text of a slice view's corner annotations and cursor readout (Qt-free strings)."""

from __future__ import annotations

import numpy as np

from medstation.core.view_state import ViewState

_POSITION_AXIS = {"axial": (2, "S", "I"), "coronal": (1, "P", "A"), "sagittal": (0, "L", "R")}


def patient_text(state: ViewState) -> str:
    """Top-left corner: patient name and ID, study description."""
    info = state.volume.info
    lines = [info.patient_name.replace("^", " ").strip(), f"ID: {info.patient_id}" if info.patient_id else "",
             info.study_description]
    return "\n".join(line for line in lines if line)


def series_text(state: ViewState) -> str:
    """Top-right corner: series number and description, modality, geometry warnings."""
    info = state.volume.info
    number = f"Se {info.series_number}: " if info.series_number is not None else ""
    lines = [f"{number}{info.series_description}".strip(), info.modality]
    if state.volume.is_sheared:
        lines.append(f"Tilted {state.volume.shear_angle_degrees:.1f}°: drawn with true geometry")
    lines.extend(state.volume.warnings[:2])
    return "\n".join(line for line in lines if line)


def slice_text(state: ViewState, view: str, mip_thickness_mm: float | None = None) -> str:
    """Bottom-left corner: slice number, its position (mm) and thickness, time point."""
    plane = state.planes[view]
    index = state.slice_index(view)
    voxel = state.voxel
    voxel[plane.normal_axis] = index
    axis, positive, negative = _POSITION_AXIS[view]
    coordinate = float(state.volume.voxel_to_patient(voxel)[axis])
    letter = positive if coordinate >= 0 else negative
    lines = [f"{view.capitalize()}  Im {index + 1}/{plane.n_slices}", f"Pos {letter} {abs(coordinate):.1f} mm"]
    if mip_thickness_mm is not None:
        lines.append(f"MIP slab {mip_thickness_mm:.1f} mm")
    else:
        lines.append(f"Thk {plane.slice_spacing:.2f} mm")
    if state.volume.n_volumes > 1:
        lines.append(f"Time {state.time_index + 1}/{state.volume.n_volumes}")
    return "\n".join(lines)


def window_text(state: ViewState, view: str) -> str:
    """Bottom-right corner: window width / level, inversion and zoom."""
    window = state.window
    inverted = " (inverted)" if window.inverted else ""
    name = f" {window.name}" if window.name else ""
    return (f"W {_short(window.width)} L {_short(window.center)}{name}{inverted}\n"
            f"Zoom {state.cameras[view].zoom:.2f}x")


def _short(value: float) -> str:
    """A window value with at most one decimal: ``80``, ``-600``, ``816.8``."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def readout_text(state: ViewState, ijk: np.ndarray | None) -> str:
    """Cursor readout: voxel (i, j, k), LPS position (mm) and value (HU for CT), or "" outside the volume."""
    if ijk is None:
        return ""
    n_k, n_j, n_i = state.volume.spatial_shape
    i, j, k = (round(v) for v in ijk)
    if not (0 <= i < n_i and 0 <= j < n_j and 0 <= k < n_k):
        return ""
    x, y, z = state.volume.voxel_to_patient(np.array([i, j, k], dtype=np.float64))
    value = state.array[k, j, i]
    if state.volume.is_rgb:
        shown = "RGB " + ", ".join(str(int(v)) for v in value)
    else:
        shown = f"{value:.4g}" if np.issubdtype(type(value), np.floating) else f"{int(value)}"
        shown += " HU" if state.volume.info.modality == "CT" else ""
    return f"({i}, {j}, {k})  LPS ({x:.1f}, {y:.1f}, {z:.1f}) mm  {shown}"
