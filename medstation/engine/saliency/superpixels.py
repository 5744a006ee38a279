"""Superpixel segmentations of a 2D image, the features LIME and SHAP switch on and off.

Written with numpy alone so the engine needs no image-processing library for them: a SLIC-like clustering
(Achanta et al. 2012) that starts from a regular grid of cells and moves them onto intensity edges. As in SLIC,
each centre only competes for the pixels within two grid intervals of it, so the cost grows with the number of
pixels alone; a pixel out of every centre's reach keeps its previous label.
"""

from __future__ import annotations

import numpy as np


def slic_segments(image: np.ndarray, n_segments: int = 49, compactness: float = 0.1, iterations: int = 8) -> np.ndarray:
    """SLIC-like superpixels: k-means on (intensity, row, column) seeded on a regular grid.

    Parameters
    ----------
    image
        2D intensity image ``[j, i]`` in any units; intensities are rescaled to [0, 1] internally.
    n_segments
        Approximate number of superpixels wanted.
    compactness
        Weight of the spatial distance against the intensity distance (per grid interval); larger values give
        squarer superpixels, smaller ones follow edges more closely.
    iterations
        Number of k-means updates.

    Returns
    -------
    numpy.ndarray
        int64 labels ``0 .. n - 1`` of the image's shape; every label is used. Connectivity is not enforced,
        so a label may cover a few separate patches.
    """
    if image.ndim != 2:
        raise ValueError(f"superpixels need a 2D image [j, i], got shape {image.shape}")
    rows, columns = image.shape
    span = float(np.ptp(image))
    intensity = (image - image.min()) / span if span > 0 else np.zeros(image.shape)
    interval = max(1, round(np.sqrt(rows * columns / max(1, n_segments))))
    pixel_rows, pixel_columns = np.mgrid[0:rows, 0:columns]
    labels = (pixel_rows // interval) * (-(-columns // interval)) + pixel_columns // interval
    centres = _centres(labels, intensity, pixel_rows, pixel_columns)
    spatial_weight = (compactness / interval) ** 2
    reach = 2 * interval
    for _ in range(iterations):
        best = np.full(image.shape, np.inf)
        for label, (value, row, column) in enumerate(centres):
            if np.isnan(value):
                continue
            window = (
                slice(max(0, int(row) - reach), min(rows, int(row) + reach + 1)),
                slice(max(0, int(column) - reach), min(columns, int(column) + reach + 1)),
            )
            spatial = (pixel_rows[window] - row) ** 2 + (pixel_columns[window] - column) ** 2
            distance = (intensity[window] - value) ** 2 + spatial_weight * spatial
            closer = distance < best[window]
            best[window][closer] = distance[closer]
            labels[window][closer] = label
        centres = _centres(labels, intensity, pixel_rows, pixel_columns)
    _, contiguous = np.unique(labels, return_inverse=True)
    return contiguous.reshape(rows, columns).astype(np.int64)


def _centres(labels: np.ndarray, intensity: np.ndarray, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """Mean (intensity, row, column) of each label ``[n, 3]``; NaN for a label no pixel has."""
    counts = np.bincount(labels.ravel())
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.stack(
            [np.bincount(labels.ravel(), weights=values.ravel()) / counts for values in (intensity, rows, columns)],
            axis=1,
        )
