"""Overlay layers drawn over a volume: heat maps (saliency) and label maps (segmentations), as RGBA.

Layer data is aligned voxel for voxel with the volume: ``[k, j, i]`` with the volume's spatial shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

HEAT_COLORMAPS: dict[str, tuple[tuple[float, tuple[int, int, int]], ...]] = {
    "hot": ((0.0, (0, 0, 0)), (0.4, (230, 0, 0)), (0.8, (255, 210, 0)), (1.0, (255, 255, 255))),
    "jet": ((0.0, (0, 0, 143)), (0.125, (0, 0, 255)), (0.375, (0, 255, 255)), (0.625, (255, 255, 0)),
            (0.875, (255, 0, 0)), (1.0, (128, 0, 0))),
    "viridis": ((0.0, (68, 1, 84)), (0.25, (59, 82, 139)), (0.5, (33, 145, 140)), (0.75, (94, 201, 98)),
                (1.0, (253, 231, 37))),
}
LABEL_COLORS = np.array(
    [(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180), (70, 240, 240),
     (240, 50, 230), (210, 245, 60), (250, 190, 212), (0, 128, 128), (220, 190, 255)],
    dtype=np.uint8,
)
"""Colour of label value ``v > 0`` is ``LABEL_COLORS[(v - 1) % 12]``; label 0 is transparent."""


@dataclass(eq=False)
class OverlayLayer:
    """One overlay: voxels ``[k, j, i]`` aligned with the volume and how to colour them.

    For a heat map, values between ``low`` and ``high`` run through ``colormap``; values below
    ``threshold`` are transparent. For a label map, each positive integer label gets its own colour.
    Views colour slices of :meth:`display_volume` with :meth:`colour`; for a heat map that volume is the
    uint8 bin of every voxel, computed once per ``low..high`` so scrolling only looks colours up.
    """

    name: str
    data: np.ndarray
    kind: Literal["heat", "label"] = "heat"
    opacity: float = 0.5
    colormap: str = "hot"
    threshold: float | None = None
    low: float | None = None
    high: float | None = None
    visible: bool = True
    meaning: str = ""
    """What a heat map's values are, shown under its colour legend (``"fraction of the map's peak"``)."""
    _bins: np.ndarray | None = field(default=None, init=False, repr=False)
    _bins_range: tuple[float, float] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind == "heat":
            finite = self.data[np.isfinite(self.data)] if self.data.dtype.kind == "f" else self.data
            self.low = float(finite.min()) if self.low is None else self.low
            self.high = float(finite.max()) if self.high is None else self.high
            self.threshold = self.low if self.threshold is None else self.threshold

    def display_volume(self) -> np.ndarray:
        """Voxels ready for :meth:`colour`: the labels, or the heat map's uint8 bins of ``low..high``."""
        if self.kind == "label":
            return self.data
        if self._bins_range != (self.low, self.high):
            self._bins = heat_index(self.data, self.low, self.high)
            self._bins_range = (self.low, self.high)
        return self._bins

    def colour(self, display_image: np.ndarray) -> np.ndarray:
        """RGBA ``[row, col, 4]`` uint8 of a 2-D slice (or slab maximum) of :meth:`display_volume`."""
        if self.kind == "label":
            return label_rgba(display_image, self.opacity)
        table = heat_table(self.low, self.high, self.threshold, self.opacity, self.colormap)
        return table.view(np.uint32).reshape(256)[display_image].view(np.uint8).reshape(*display_image.shape, 4)


def colormap_table(name: str) -> np.ndarray:
    """A 256 x 3 uint8 colour table interpolated from the named colormap's control points."""
    points = HEAT_COLORMAPS[name]
    positions = np.array([p for p, _ in points])
    colours = np.array([c for _, c in points], dtype=np.float64)
    x = np.linspace(0.0, 1.0, 256)
    return np.stack([np.interp(x, positions, colours[:, c]) for c in range(3)], axis=1).round().astype(np.uint8)


def heat_table(low: float, high: float, threshold: float, opacity: float, colormap: str = "hot") -> np.ndarray:
    """256 RGBA colours (uint8 ``[256, 4]``) for ``low..high``; bins starting below ``threshold`` are clear."""
    table = np.empty((256, 4), dtype=np.uint8)
    table[:, :3] = colormap_table(colormap)
    bin_starts = low + np.arange(256) * (high - low) / 255.0
    table[:, 3] = np.where(bin_starts >= threshold, round(255 * opacity), 0)
    return table


def heat_index(image: np.ndarray, low: float, high: float) -> np.ndarray:
    """Bin (uint8, 0..255) of each value between ``low`` and ``high``; NaN goes to bin 0."""
    scale = np.float32(255.0 / max(high - low, 1e-12))
    scaled = (image.astype(np.float32, copy=False) - np.float32(low)) * scale
    return np.fmin(np.fmax(scaled, 0.0, out=scaled), 255.0, out=scaled).astype(np.uint8)


def label_rgba(image: np.ndarray, opacity: float) -> np.ndarray:
    """RGBA ``[row, col, 4]`` uint8 of a label-map slice: one colour per positive label, 0 transparent."""
    labels = image.astype(np.int64, copy=False)
    rgba = np.zeros((*image.shape, 4), dtype=np.uint8)
    inside = labels > 0
    rgba[inside, :3] = LABEL_COLORS[(labels[inside] - 1) % len(LABEL_COLORS)]
    rgba[inside, 3] = np.uint8(round(255 * opacity))
    return rgba


@dataclass(frozen=True)
class ColourLegend:
    """What a heat layer's colour bar says: its name, its colours from ``low`` to ``high`` (``colours[0]`` is
    ``low``), the threshold below which nothing is drawn, and what the values are."""

    title: str
    colours: np.ndarray
    low: float
    high: float
    threshold: float
    meaning: str = ""

    @property
    def clear_fraction(self) -> float:
        """How far up the bar (0 at ``low``, 1 at ``high``) the drawn colours start."""
        span = self.high - self.low
        return float(np.clip((self.threshold - self.low) / span, 0.0, 1.0)) if span > 0 else 0.0

    def ticks(self) -> list[tuple[float, str]]:
        """``(fraction up the bar, text)`` for ``low``, the threshold where it clears anything, and ``high``."""
        ticks = [(0.0, f"{self.low:.3g}")]
        if 0.0 < self.clear_fraction < 1.0:
            ticks.append((self.clear_fraction, f"{self.threshold:.3g} (clear below)"))
        return [*ticks, (1.0, f"{self.high:.3g}")]


def colour_legend(layers: Sequence[OverlayLayer]) -> ColourLegend | None:
    """The legend of the topmost visible heat layer (the last one drawn), None while no heat layer is visible."""
    for layer in reversed(layers):
        if layer.kind == "heat" and layer.visible:
            return ColourLegend(layer.name, colormap_table(layer.colormap), float(layer.low), float(layer.high),
                                float(layer.threshold), layer.meaning)
    return None


SALIENCY_THRESHOLD = 0.3
"""Saliency below this fraction of the map's peak is left transparent, so the image stays readable."""


def saliency_overlay(values: np.ndarray, caption: str) -> OverlayLayer:
    """A heat-map layer for a saliency map scaled to [0, 1] (``[k, j, i]`` aligned with the volume)."""
    return OverlayLayer(caption, values, kind="heat", opacity=0.5, low=0.0, high=1.0, threshold=SALIENCY_THRESHOLD,
                        meaning="fraction of the map's peak")
