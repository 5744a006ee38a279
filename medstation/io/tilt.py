"""Explicit gantry-tilt correction: resample a sheared volume onto an orthogonal grid.

Loading never does this by itself: a tilted series keeps its true, sheared affine. Each slice stays in its
own plane and is shifted within it (bilinear interpolation) so that the k axis becomes the slice normal;
the grid grows in i and j so that no voxel is cut off, and new voxels get the volume's minimum (air).
"""

from __future__ import annotations

import numpy as np

from medstation.core.volume import Volume


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
    corrected.warnings = [w for w in volume.warnings if not w.startswith("gantry tilt")]
    corrected.warnings.append(f"gantry tilt of {volume.shear_angle_degrees:.2f} degrees corrected by resampling")
    return corrected


def _shift_image(
    image: np.ndarray, shift_rows: float, shift_columns: float, shape: tuple[int, int], fill
) -> np.ndarray:
    """``out[r, c] = image[r - shift_rows, c - shift_columns]`` with bilinear weights, ``fill`` outside."""
    source_rows = np.arange(shape[0]) - shift_rows
    source_columns = np.arange(shape[1]) - shift_columns
    row0, column0 = np.floor(source_rows).astype(int), np.floor(source_columns).astype(int)
    row_weight, column_weight = source_rows - row0, source_columns - column0
    result = np.zeros(shape, dtype=np.float64)
    for row_step, weights_r in ((0, 1.0 - row_weight), (1, row_weight)):
        for column_step, weights_c in ((0, 1.0 - column_weight), (1, column_weight)):
            result += np.outer(weights_r, weights_c) * _gather(image, row0 + row_step, column0 + column_step, fill)
    if np.issubdtype(image.dtype, np.integer):
        result = np.rint(result)
    return result.astype(image.dtype)


def _gather(image: np.ndarray, rows: np.ndarray, columns: np.ndarray, fill) -> np.ndarray:
    inside_rows = (rows >= 0) & (rows < image.shape[0])
    inside_columns = (columns >= 0) & (columns < image.shape[1])
    values = image[np.ix_(np.clip(rows, 0, image.shape[0] - 1), np.clip(columns, 0, image.shape[1] - 1))]
    values = values.astype(np.float64)
    values[~np.outer(inside_rows, inside_columns)] = fill
    return values
