"""Training-time augmentation of a whole batch at once: random small rotations, scalings and shifts.

One affine resampling per batch (``affine_grid`` + ``grid_sample``) costs far less than per-image transforms on a
CPU. In 3-D the rotation turns the in-plane ``(j, i)`` axes about ``k``. Edges are extended (``border``) so no black
corners appear. Horizontal flips are not used: a chest radiograph's left and right are not interchangeable.
"""

from __future__ import annotations

import math

from medstation.engine.classifier.recipe import Augmentation
from medstation.engine.runtime import load_torch

torch = load_torch()
functional = torch.nn.functional


def augment_batch(batch: torch.Tensor, augmentation: Augmentation, generator: torch.Generator,
                  drawn: int | None = None, rows: slice | None = None) -> torch.Tensor:
    """A randomly transformed copy of ``batch`` (a float tensor ``(N, C, *spatial)``), drawn from ``generator``;
    ``batch`` itself when ``augmentation`` is off.

    A worker holding part of a global batch passes ``drawn`` (the global batch's size) and ``rows`` (its images'
    places in it): the transforms are drawn for the whole global batch, as one process would draw them, and those
    of ``rows`` applied, so every worker's generator stays in step and the images are transformed as in one process.
    """
    if not augmentation.enabled:
        return batch
    count, dims = drawn or batch.shape[0], batch.ndim - 2

    def uniform(*shape: int) -> torch.Tensor:
        return torch.rand(*shape, generator=generator) * 2.0 - 1.0

    angle = uniform(count) * math.radians(augmentation.rotation_degrees)
    zoom = 1.0 + uniform(count) * augmentation.scale
    theta = torch.zeros(count, dims, dims + 1)
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta[:, 0, 0], theta[:, 0, 1], theta[:, 1, 0], theta[:, 1, 1] = cos, -sin, sin, cos
    if dims == 3:
        theta[:, 2, 2] = 1.0 / zoom
    theta[:, :, dims] = uniform(count, dims) * augmentation.shift
    if rows is not None:
        theta = theta[rows]
    grid = functional.affine_grid(theta, list(batch.shape), align_corners=False)
    return functional.grid_sample(batch, grid, padding_mode="border", align_corners=False)
