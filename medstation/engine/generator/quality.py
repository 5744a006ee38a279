"""Distribution metrics for synthetic images, pure numpy/torch maths on feature vectors or pixels.

- :func:`frechet_distance`: the Fréchet distance between Gaussians fitted to two feature sets (FID when the
  features are Inception's; here any network's), through MONAI's ``get_fid_score``.
- :func:`knn_precision_recall`: fidelity and diversity as k-nearest-neighbour manifold coverage
  (Kynkäänniemi et al., NeurIPS 2019).
- :func:`nearest_distances`: each query's Euclidean distance to its nearest reference (memorisation checks).
- :func:`box_blur`: the mean over each voxel's ``size x size`` neighbourhood (a near-miss reference).
"""

from __future__ import annotations

import warnings

import numpy as np

from medstation.engine.runtime import engine_module, load_torch

torch = load_torch()
functional = torch.nn.functional
get_fid_score = engine_module("monai.metrics.fid").get_fid_score

_CHUNK = 1024


def _matrix(values: np.ndarray, what: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 2 or len(array) < 2:
        raise ValueError(f"{what} must be a (samples, features) array of at least two samples, got {array.shape}")
    return array


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """``|mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2))`` of two ``(samples, features)`` sets."""
    a, b = _matrix(features_a, "features_a"), _matrix(features_b, "features_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature sets of different widths {a.shape[1]} and {b.shape[1]}")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*disp.*", category=DeprecationWarning)
        score = get_fid_score(torch.from_numpy(a), torch.from_numpy(b))
    return max(0.0, float(score.real))


def _pairwise(queries: np.ndarray, references: np.ndarray) -> torch.Tensor:
    """Euclidean distances ``(queries, references)`` as a float64 tensor."""
    q = torch.from_numpy(np.ascontiguousarray(queries, dtype=np.float64))
    r = torch.from_numpy(np.ascontiguousarray(references, dtype=np.float64))
    return torch.cat([torch.cdist(q[i : i + _CHUNK], r) for i in range(0, len(q), _CHUNK)])


def nearest_distances(queries: np.ndarray, references: np.ndarray) -> np.ndarray:
    """Each query row's Euclidean distance to its nearest reference row; images are flattened first."""
    q = np.asarray(queries).reshape(len(queries), -1)
    r = np.asarray(references).reshape(len(references), -1)
    if len(q) == 0 or len(r) == 0:
        raise ValueError("nearest distances need at least one query and one reference")
    return _pairwise(q, r).min(dim=1).values.numpy()


def _radii(features: np.ndarray, k: int) -> np.ndarray:
    """Distance from each sample to its k-th nearest other sample of the same set."""
    distances = _pairwise(features, features)
    return distances.kthvalue(k + 1, dim=1).values.numpy()


def _coverage(points: np.ndarray, centres: np.ndarray, radii: np.ndarray) -> float:
    """Fraction of ``points`` inside at least one ball (centre, radius)."""
    inside = (_pairwise(points, centres).numpy() <= radii[np.newaxis, :]).any(axis=1)
    return float(inside.mean())


def knn_precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> tuple[float, float]:
    """``(precision, recall)``: the share of fake samples inside the real k-NN manifold, and of real samples
    inside the fake one (each manifold the union of balls reaching every sample's k-th neighbour)."""
    real, fake = _matrix(real, "real"), _matrix(fake, "fake")
    if min(len(real), len(fake)) <= k:
        raise ValueError(f"k-NN precision and recall need more than k={k} samples in each set")
    return _coverage(fake, real, _radii(real, k)), _coverage(real, fake, _radii(fake, k))


def box_blur(images: np.ndarray, size: int = 3) -> np.ndarray:
    """Each image ``[..., H, W]`` replaced by the mean over each pixel's ``size x size`` neighbourhood, edges
    padded by repeating the border pixels; float32."""
    array = np.asarray(images, dtype=np.float32)
    shape = array.shape
    tensor = torch.from_numpy(np.ascontiguousarray(array.reshape(-1, 1, *shape[-2:])))
    padded = functional.pad(tensor, (size // 2,) * 4, mode="replicate")
    return functional.avg_pool2d(padded, size, stride=1).numpy().reshape(shape)
