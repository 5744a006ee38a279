"""Explicit gantry-tilt correction: resample a sheared volume onto an orthogonal grid.

Loading never does this by itself: a tilted series keeps its true, sheared affine. Each slice stays in its
own plane and is shifted within it (bilinear interpolation) so that the k axis becomes the slice normal;
the grid grows in i and j so that no voxel is cut off, and new voxels get the volume's minimum (air).
"""

from __future__ import annotations

import numpy as np

from medstation.core.volume import Volume
from medstation.io.dicom.geometry import TILT_WARNING_START


def correct_gantry_tilt(volume: Volume) -> Volume:
    """A copy of ``volume`` resampled so that its k axis is perpendicular to the slices (LPS, mm).

    Slice distances along the normal are kept (irregular spacing stays in ``slice_positions``).
    A volume without shear is returned unchanged.
    """
    if not volume.is_sheared or volume.is_rgb:
        return volume
    affine = volume.affine
    n_k = volume.spatial_shape[0]
    normal = volume.slice_normal
    positions = (
        volume.slice_positions
        if volume.slice_positions is not None
        else affine[:3, 3] + np.outer(np.arange(n_k), affine[:3, 2])
    )
    offsets = positions - positions[0]
    distances = offsets @ normal
    in_plane = np.linalg.lstsq(affine[:3, :2], (offsets - np.outer(distances, normal)).T, rcond=None)[0].T
    start = np.floor(in_plane.min(axis=0)).astype(int)
    stop = np.ceil(in_plane.max(axis=0)).astype(int)
    n_j = volume.spatial_shape[1] + int(stop[1] - start[1])
    n_i = volume.spatial_shape[2] + int(stop[0] - start[0])
    fill = volume.array.min()
    resampled = np.empty((*volume.array.shape[:-3], n_k, n_j, n_i), dtype=volume.array.dtype)
    for index in np.ndindex(volume.array.shape[:-3]):
        for k in range(n_k):
            shift_i, shift_j = in_plane[k] - start
            resampled[(*index, k)] = _shift_image(volume.array[(*index, k)], shift_j, shift_i, (n_j, n_i), fill)
    new_affine = affine.copy()
    new_affine[:3, 3] = positions[0] + affine[:3, :2] @ start
    step = float(distances[-1] / (n_k - 1)) if n_k > 1 else 1.0
    new_affine[:3, 2] = normal * step
    regular = np.allclose(distances, step * np.arange(n_k), atol=1e-2)
    corrected = volume.with_array(resampled, affine=new_affine)
    corrected.slice_positions = None if regular else new_affine[:3, 3] + np.outer(distances, normal)
    corrected.warnings = [w for w in volume.warnings if not w.startswith(TILT_WARNING_START)]
    corrected.warnings.append(
        f"Gantry tilt of {volume.shear_angle_degrees:.1f}° removed by resampling onto an orthogonal grid"
    )
    return corrected


def _shift_image(
    image: np.ndarray, shift_rows: float, shift_columns: float, shape: tuple[int, int], fill
) -> np.ndarray:
    """``out[r, c] = image[r - shift_rows, c - shift_columns]`` with bilinear weights, ``fill`` outside."""
    row_offset, column_offset = int(np.floor(-shift_rows)), int(np.floor(-shift_columns))
    row_weight, column_weight = -shift_rows - row_offset, -shift_columns - column_offset
    # canvas[x, y] = image[x + row_offset, y + column_offset], one extra row and column for the 2x2 stencil.
    canvas = np.full((shape[0] + 1, shape[1] + 1), fill, dtype=np.float64)
    x0, y0 = max(0, -row_offset), max(0, -column_offset)
    x1 = min(canvas.shape[0], image.shape[0] - row_offset)
    y1 = min(canvas.shape[1], image.shape[1] - column_offset)
    if x1 > x0 and y1 > y0:
        canvas[x0:x1, y0:y1] = image[x0 + row_offset : x1 + row_offset, y0 + column_offset : y1 + column_offset]
    result = (
        (1 - row_weight) * (1 - column_weight) * canvas[:-1, :-1]
        + (1 - row_weight) * column_weight * canvas[:-1, 1:]
        + row_weight * (1 - column_weight) * canvas[1:, :-1]
        + row_weight * column_weight * canvas[1:, 1:]
    )
    if np.issubdtype(image.dtype, np.integer):
        result = np.rint(result)
    return result.astype(image.dtype)
