"""Siemens mosaic images: several slices tiled into one DICOM image.

The tiling and the true slice geometry come from the Siemens CSA header, read with ``nibabel.nicom``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MosaicLayout:
    """How a mosaic tiles its slices, and where the untiled volume lies.

    Attributes
    ----------
    n_slices
        Number of real slices in the mosaic (the last tiles may be empty).
    tiles_per_side
        The mosaic is a ``tiles_per_side x tiles_per_side`` grid of tiles.
    tile_rows, tile_columns
        Size of one slice in voxels.
    affine
        4x4 voxel ``(i, j, k)`` to LPS (mm) matrix of the untiled ``[k, j, i]`` volume.
    """

    n_slices: int
    tiles_per_side: int
    tile_rows: int
    tile_columns: int
    affine: np.ndarray


def mosaic_layout(dataset) -> MosaicLayout | None:
    """The mosaic layout of a Siemens mosaic header, or None when the image is not a mosaic."""
    image_type = [str(value).upper() for value in dataset.get("ImageType", [])]
    if "MOSAIC" not in image_type:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from nibabel.nicom import dicomwrappers

        wrapper = dicomwrappers.wrapper_from_data(dataset)
    if not getattr(wrapper, "is_mosaic", False):
        return None
    # nibabel indexes voxels (row, column, slice); swap to (column i, row j, slice k).
    tiles_per_side = int(wrapper.mosaic_size)
    return MosaicLayout(
        n_slices=int(wrapper.n_mosaic),
        tiles_per_side=tiles_per_side,
        tile_rows=int(dataset.Rows) // tiles_per_side,
        tile_columns=int(dataset.Columns) // tiles_per_side,
        affine=np.asarray(wrapper.affine, dtype=np.float64)[:, [1, 0, 2, 3]],
    )


def untile_mosaic(image: np.ndarray, layout: MosaicLayout) -> np.ndarray:
    """Cut a 2-D mosaic ``[row, column]`` into its slices ``[k, j, i]`` (tiles run row by row)."""
    side, rows, columns = layout.tiles_per_side, layout.tile_rows, layout.tile_columns
    tiles = image[: side * rows, : side * columns].reshape(side, rows, side, columns)
    return tiles.transpose(0, 2, 1, 3).reshape(side * side, rows, columns)[: layout.n_slices]
