"""Window/level: presets, the DICOM default, percentile auto-window, mouse-drag maths and the grey mapping.

A window is a ``width`` and a ``center`` in the volume's real-world units (HU for CT). Values at or below
``center - width / 2`` are black, at or above ``center + width / 2`` white (the reverse when inverted).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from medstation.core.volume import Volume

MIN_WIDTH = 1e-3
_PERCENTILES = (0.5, 99.5)
_AUTO_SAMPLE = 1_000_000


@dataclass(frozen=True)
class Window:
    """Display window in real-world units (HU for CT); ``inverted`` shows low values bright."""

    width: float
    center: float
    inverted: bool = False
    name: str = ""

    @property
    def low(self) -> float:
        return self.center - self.width / 2.0

    @property
    def high(self) -> float:
        return self.center + self.width / 2.0


CT_PRESETS: tuple[Window, ...] = (
    Window(80, 40, name="Brain"),
    Window(200, 75, name="Subdural"),
    Window(1500, -600, name="Lung"),
    Window(2500, 480, name="Bone"),
    Window(400, 40, name="Soft tissue"),
    Window(150, 90, name="Liver"),
)
"""Keys 1-6, in this order."""


def auto_window(values: np.ndarray, ignore_zero: bool = True) -> Window:
    """Window spanning the 0.5th to 99.5th percentile of ``values`` (a subsample of large arrays).

    ``ignore_zero`` leaves out exact zeros (the background of skull-stripped or masked MR).
    """
    flat = np.asarray(values).reshape(-1)
    if flat.size > _AUTO_SAMPLE:
        flat = flat[:: flat.size // _AUTO_SAMPLE]
    flat = flat[np.isfinite(flat)] if flat.dtype.kind == "f" else flat
    if ignore_zero and np.any(flat != 0):
        flat = flat[flat != 0]
    if flat.size == 0:
        return Window(1.0, 0.0, name="Auto")
    low, high = np.percentile(flat, _PERCENTILES)
    return Window(max(float(high - low), MIN_WIDTH), float(low + high) / 2.0, name="Auto")


def default_window(volume: Volume) -> Window:
    """The header's first window when it has one, else the percentile window; MONOCHROME1 starts inverted.

    Colour (RGB) volumes get the identity window over their sample type's range (0-255 for 8-bit samples,
    0-65535 for 16-bit), so deeper colour is shown at its own depth, not clipped at 255.
    """
    presets = volume.info.window_presets
    if volume.is_rgb:
        top = float(np.iinfo(volume.array.dtype).max) if volume.array.dtype.kind in "iu" else 255.0
        window = Window(top, top / 2.0, name="RGB")
    elif presets and presets[0].width > 0:
        first = presets[0]
        window = Window(float(first.width), float(first.center), name=first.name or "Default")
    else:
        window = auto_window(volume.array)
    return replace(window, inverted=volume.info.invert_display)


def dragged_window(start: Window, dx_pixels: float, dy_pixels: float, value_span: float) -> Window:
    """Window after a right-drag of ``(dx, dy)`` screen pixels (y down).

    Dragging right by one pixel widens the window by ``value_span / 500`` (less contrast); dragging down
    lowers the center by the same amount (brighter picture); both in real-world units (HU for CT).
    """
    step = max(value_span, 1.0) / 500.0
    return replace(start, width=max(start.width + dx_pixels * step, MIN_WIDTH), center=start.center - dy_pixels * step,
                   name="")


def grey_lookup_table(window: Window, dtype: np.dtype) -> np.ndarray | None:
    """uint8 table indexed by the raw bits of an 8- or 16-bit integer image, or None for other types."""
    dtype = np.dtype(dtype)
    if dtype.kind not in "iu" or dtype.itemsize > 2:
        return None
    unsigned = np.dtype(f"u{dtype.itemsize}")
    values = np.arange(2 ** (8 * dtype.itemsize), dtype=unsigned).view(dtype).astype(np.float32)
    return _to_grey(values, window)


def apply_window(image: np.ndarray, window: Window, lookup: np.ndarray | None = None) -> np.ndarray:
    """Map a 2-D image of real-world values to uint8 grey (0 black .. 255 white) through ``window``.

    ``lookup`` is :func:`grey_lookup_table` for the image's type; passing it makes 16-bit images a table
    look-up instead of arithmetic.
    """
    if lookup is not None and image.dtype.kind in "iu" and image.dtype.itemsize <= 2:
        return lookup[image.view(f"u{image.dtype.itemsize}")]
    return _to_grey(image.astype(np.float32, copy=False), window)


def _to_grey(values: np.ndarray, window: Window) -> np.ndarray:
    scale = 255.0 / max(window.width, MIN_WIDTH)
    grey = np.clip((values - np.float32(window.low)) * np.float32(scale), 0.0, 255.0)
    if window.inverted:
        grey = 255.0 - grey
    return np.nan_to_num(grey, nan=0.0).astype(np.uint8)
