"""Training-time augmentation of a whole batch at once: random small rotations, scalings and shifts.

One affine resampling per batch (``affine_grid`` + ``grid_sample``) costs far less than per-image transforms on a
CPU. In 3-D the rotation turns the in-plane ``(j, i)`` axes about ``k``. Edges are extended (``border``) so no black
corners appear. Horizontal flips are not used: a chest radiograph's left and right are not interchangeable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Augmentation:
    """Ranges of the random transform: rotation in degrees, relative scale change, shift as a fraction of the
    image half-width (0.1 shifts a 28-pixel image by up to 1.4 pixels)."""

    rotation_degrees: float = 10.0
    scale: float = 0.10
    shift: float = 0.10

    @property
    def enabled(self) -> bool:
        return self.rotation_degrees > 0 or self.scale > 0 or self.shift > 0


def augment_batch(batch, augmentation: Augmentation, generator):
    """A randomly transformed copy of ``batch`` (a float tensor ``(N, C, *spatial)``), drawn from ``generator``."""
    from medstation.engine.runtime import load_torch

    torch = load_torch()
    if not augmentation.enabled:
        return batch
    count, dims = batch.shape[0], batch.ndim - 2

    def uniform(*shape):
        return torch.rand(*shape, generator=generator) * 2.0 - 1.0

    angle = uniform(count) * math.radians(augmentation.rotation_degrees)
    zoom = 1.0 + uniform(count) * augmentation.scale
    theta = torch.zeros(count, dims, dims + 1)
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta[:, 0, 0], theta[:, 0, 1], theta[:, 1, 0], theta[:, 1, 1] = cos, -sin, sin, cos
    if dims == 3:
        theta[:, 2, 2] = 1.0 / zoom
    theta[:, :, dims] = uniform(count, dims) * augmentation.shift
    grid = torch.nn.functional.affine_grid(theta, list(batch.shape), align_corners=False)
    return torch.nn.functional.grid_sample(batch, grid, padding_mode="border", align_corners=False)
