"""Arrange the images of one series into a ``[t, k]`` grid and derive its voxel-to-LPS affine.

Slices are sorted by their position projected on the slice normal (never by file name or InstanceNumber);
the k step comes from the positions, not from SliceThickness. Images sharing a position become volumes
along t, ordered by temporal index, acquisition number and instance number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from medstation.io.dicom.header import FrameRecord

POSITION_TOLERANCE_MM = 0.01
_RELATIVE_GAP_TOLERANCE = 0.01
_TILT_TOLERANCE_DEGREES = 0.01

TILT_WARNING_START = "Gantry tilted"
NO_GEOMETRY_WARNING = (
    "No patient position in the header (ImagePositionPatient, ImageOrientationPatient): shown as stored, "
    "positions are nominal"
)


@dataclass
class StackLayout:
    """Where every image of a series goes, and the geometry of the result.

    Attributes
    ----------
    frames
        ``frames[t][k]``: the image for volume t, slice k (a mosaic fills a whole volume: ``frames[t][0]``).
    affine
        4x4 voxel ``(i, j, k)`` to LPS (mm) matrix; sheared when the slices are tilted.
    slice_positions
        ``(n_k, 3)`` LPS positions (mm) of every slice when they are off the affine's regular grid, else None.
    has_geometry
        False when the images have no ImagePositionPatient / ImageOrientationPatient and the affine is nominal.
    spacing_known
        False when the in-plane pixel size is unknown: the affine's i and j steps are a nominal 1.
    """

    frames: list[list[FrameRecord]]
    affine: np.ndarray
    slice_positions: np.ndarray | None = None
    warnings: list[str] = field(default_factory=list)
    has_geometry: bool = True
    spacing_known: bool = True

    @property
    def is_mosaic(self) -> bool:
        """True when each volume comes from one mosaic image."""
        return self.frames[0][0].mosaic is not None


def slice_normal(orientation: Sequence[float]) -> np.ndarray:
    """Unit normal (LPS) of the plane spanned by ImageOrientationPatient's row and column cosines."""
    normal = np.cross(np.asarray(orientation[:3], float), np.asarray(orientation[3:], float))
    return normal / np.linalg.norm(normal)


def in_plane_affine(frame: FrameRecord) -> np.ndarray:
    """4x4 affine whose i, j columns and origin come from one image; the k column is the unit normal."""
    affine = np.eye(4)
    row_spacing, column_spacing = frame.pixel_spacing
    affine[:3, 0] = np.asarray(frame.orientation[:3]) * column_spacing
    affine[:3, 1] = np.asarray(frame.orientation[3:]) * row_spacing
    affine[:3, 2] = slice_normal(frame.orientation)
    affine[:3, 3] = frame.position
    return affine


def _temporal_key(frame: FrameRecord) -> tuple:
    """Order of images at one position: temporal index, acquisition, instance, then file and frame."""
    return (
        frame.temporal_index,
        frame.acquisition_number,
        frame.instance_number,
        str(frame.path),
        frame.frame or 0,
    )


def arrange_frames(frames: Sequence[FrameRecord]) -> StackLayout:
    """Sort the images of one series (one orientation and matrix size) into a ``[t][k]`` layout.

    The header values that could not be used (impossible planes or pixel sizes) come first in its warnings.
    """
    if frames[0].mosaic is not None:
        layout = _arrange_mosaics(frames)
    elif not frames[0].has_geometry:
        layout = _arrange_without_geometry(frames)
    else:
        layout = _arrange_slices(frames)
    header_warnings = dict.fromkeys(warning for frame in frames for warning in frame.header_warnings)
    layout.warnings = [*header_warnings, *layout.warnings]
    layout.spacing_known = all(frame.spacing_known for frame in frames)
    return layout


def _arrange_mosaics(frames: Sequence[FrameRecord]) -> StackLayout:
    ordered = sorted(frames, key=_temporal_key)
    return StackLayout(frames=[[frame] for frame in ordered], affine=ordered[0].mosaic.affine.copy())


def _arrange_without_geometry(frames: Sequence[FrameRecord]) -> StackLayout:
    ordered = sorted(frames, key=_temporal_key)
    affine = in_plane_affine(ordered[0])
    return StackLayout(
        frames=[[frame] for frame in ordered],
        affine=affine,
        warnings=[NO_GEOMETRY_WARNING],
        has_geometry=False,
    )


def _group_by_position(frames: Sequence[FrameRecord], normal: np.ndarray) -> list[list[FrameRecord]]:
    """Clusters of images at the same place along the normal, in ascending order of that distance."""
    distances = np.array([float(np.dot(frame.position, normal)) for frame in frames])
    order = np.argsort(distances, kind="stable")
    groups: list[list[FrameRecord]] = []
    last = None
    for index in order:
        if last is None or distances[index] - last > POSITION_TOLERANCE_MM:
            groups.append([])
        groups[-1].append(frames[index])
        last = distances[index]
    return [sorted(group, key=_temporal_key) for group in groups]


def _arrange_slices(frames: Sequence[FrameRecord]) -> StackLayout:
    normal = slice_normal(frames[0].orientation)
    groups = _group_by_position(frames, normal)
    warnings = []
    counts = {len(group) for group in groups}
    n_volumes = min(counts)
    if len(counts) > 1:
        warnings.append(
            f"Incomplete time series: slice positions hold between {n_volumes} and {max(counts)} images; "
            f"only the first {n_volumes} volume(s) are shown"
        )
    layout_by_slice = [group[:n_volumes] for group in groups]
    positions = np.array([group[0].position for group in layout_by_slice])
    affine = in_plane_affine(layout_by_slice[0][0])
    if len(positions) > 1:
        affine[:3, 2] = (positions[-1] - positions[0]) / (len(positions) - 1)
    else:
        affine[:3, 2] = normal * (frames[0].slice_thickness or 1.0)
    warnings.extend(_spacing_warnings(positions, normal))
    warnings.extend(_tilt_warnings(affine, frames[0].gantry_tilt))
    off_grid = len(positions) > 2 and _max_grid_deviation(positions, affine) > POSITION_TOLERANCE_MM
    return StackLayout(
        frames=[[layout_by_slice[k][t] for k in range(len(layout_by_slice))] for t in range(n_volumes)],
        affine=affine,
        slice_positions=positions if off_grid else None,
        warnings=warnings,
    )


def _max_grid_deviation(positions: np.ndarray, affine: np.ndarray) -> float:
    regular = positions[0] + np.outer(np.arange(len(positions)), affine[:3, 2])
    return float(np.max(np.linalg.norm(positions - regular, axis=1)))


def _spacing_warnings(positions: np.ndarray, normal: np.ndarray) -> list[str]:
    """Warnings for missing slices (gaps that are whole multiples of the usual step) and irregular spacing."""
    if len(positions) < 3:
        return []
    gaps = np.diff(positions @ normal)
    usual = _median(gaps)
    tolerance = max(POSITION_TOLERANCE_MM, _RELATIVE_GAP_TOLERANCE * usual)
    warnings = []
    missing = [
        (k, gap) for k, gap in enumerate(gaps)
        if round(gap / usual) >= 2 and abs(gap - round(gap / usual) * usual) <= tolerance
    ]
    for k, gap in missing:
        warnings.append(
            f"Missing slices: a {gap:.3f} mm gap between slices {k + 1} and {k + 2} "
            f"where the usual spacing is {usual:.3f} mm"
        )
    missing_indices = {k for k, _ in missing}
    irregular = [
        gap for k, gap in enumerate(gaps) if k not in missing_indices and abs(gap - usual) > tolerance
    ]
    if irregular:
        distinct = sorted({round(float(gap), 3) for gap in gaps})
        warnings.append(
            f"Uneven slice spacing (gaps of {', '.join(f'{gap:g}' for gap in distinct)} mm): reformats and "
            f"distances across slices use the mean step of {float(np.mean(gaps)):.3f} mm"
        )
    return warnings


def _median(values: np.ndarray) -> float:
    """The median, as ``np.median`` gives it (which imports numpy.ma, 10+ ms, on first use)."""
    ordered = np.sort(values)
    middle = len(ordered) // 2
    return float(ordered[middle]) if len(ordered) % 2 else float((ordered[middle - 1] + ordered[middle]) / 2)


def tilt_angle_degrees(affine: np.ndarray) -> float:
    """Angle (degrees) between the affine's k axis and the normal of its i-j plane (gantry tilt)."""
    k_axis = affine[:3, 2] / np.linalg.norm(affine[:3, 2])
    normal = np.cross(affine[:3, 0], affine[:3, 1])
    normal /= np.linalg.norm(normal)
    return float(np.degrees(np.arccos(min(1.0, abs(float(np.dot(k_axis, normal)))))))


def _tilt_warnings(affine: np.ndarray, header_tilt: float) -> list[str]:
    angle = tilt_angle_degrees(affine)
    if angle <= _TILT_TOLERANCE_DEGREES:
        return []
    stated = f" (the header says {header_tilt:g}°)" if header_tilt else ""
    return [f"{TILT_WARNING_START} {angle:.1f}°{stated}: shown with its true geometry; reformats are slanted"]
    stated = f" (GantryDetectorTilt {header_tilt:g})" if header_tilt else ""
    return [
        f"gantry tilt of {angle:.2f} degrees{stated}: the k axis is not perpendicular to the slices and "
        "the affine is sheared; tilt correction (correct_gantry_tilt) resamples onto an orthogonal grid"
    ]
