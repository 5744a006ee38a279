"""Superpixel segmentations of a 2D image, the features LIME and SHAP switch on and off.

Written with numpy alone so the engine needs no image-processing library for them: a SLIC-like clustering
(Achanta et al. 2012) that starts from a regular grid of cells and moves them onto intensity edges. Centres only
compete for pixels within two grid intervals, as in SLIC; a pixel out of every centre's reach goes to the
nearest one.
"""

from __future__ import annotations

import numpy as np

_OUT_OF_REACH = 1e6


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
    centre_rows = np.arange(interval / 2, rows, interval)
    centre_columns = np.arange(interval / 2, columns, interval)
    cr, cc = (grid.ravel() for grid in np.meshgrid(centre_rows, centre_columns, indexing="ij"))
    centres = np.stack([intensity[cr.astype(int), cc.astype(int)], cr, cc], axis=1)
    pixel_rows, pixel_columns = np.mgrid[0:rows, 0:columns]
    pixels = np.stack([intensity.ravel(), pixel_rows.ravel(), pixel_columns.ravel()], axis=1).astype(np.float64)
    spatial_weight = compactness / interval
    labels = np.zeros(rows * columns, dtype=np.int64)
    for _ in range(iterations):
        spatial = (pixels[None, :, 1] - centres[:, None, 1]) ** 2 + (pixels[None, :, 2] - centres[:, None, 2]) ** 2
        distance = (pixels[None, :, 0] - centres[:, None, 0]) ** 2 + spatial_weight**2 * spatial
        distance += (spatial > (2 * interval) ** 2) * _OUT_OF_REACH
        labels = np.argmin(distance, axis=0)
        counts = np.bincount(labels, minlength=len(centres))
        used = counts > 0
        for axis in range(3):
            sums = np.bincount(labels, weights=pixels[:, axis], minlength=len(centres))
            centres[used, axis] = sums[used] / counts[used]
    _, contiguous = np.unique(labels, return_inverse=True)
    return contiguous.reshape(rows, columns).astype(np.int64)
