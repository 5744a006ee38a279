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
    return percentile_window(_sample(values), *_PERCENTILES, name="Auto", ignore_zero=ignore_zero)


def default_window(volume: Volume) -> Window:
    """The window an image opens with; MONOCHROME1 starts inverted.

    The header's window that most of the series' images carry (``volume.info.window_presets[0]``), unless it
    would show almost the whole image as pure black or white (a phantom's W15/L7 on a 0-4000 image): then, and
    when there is none, the percentile window. Colour (RGB) volumes get the identity window over their sample
    type's range (0-255 for 8-bit samples, 0-65535 for 16-bit), so deeper colour is not clipped at 255.
    """
    if volume.is_rgb:
        top = float(np.iinfo(volume.array.dtype).max) if volume.array.dtype.kind in "iu" else 255.0
        return replace(Window(top, top / 2.0, name="RGB"), inverted=volume.info.invert_display)
    sample = _sample(volume.array)
    header = header_windows(volume)
    window = header[0] if header and _reads(header[0], sample) else auto_window(sample)
    return replace(window, inverted=volume.info.invert_display)


def window_reads(window: Window, volume: Volume) -> bool:
    """True unless ``window`` would show nearly all of the volume (a sample of it) pure black or white."""
    return _reads(window, _sample(volume.array))


def header_windows(volume: Volume) -> list[Window]:
    """The windows the image headers carry (positive widths), the one most images carry first."""
    return [Window(float(preset.width), float(preset.center), name=preset.name or "Header")
            for preset in volume.info.window_presets if preset.width > 0]


def modality_presets(volume: Volume) -> tuple[Window, ...]:
    """The presets keys 1-6 apply: the Hounsfield presets for CT, percentile windows of the image otherwise.

    Hounsfield windows mean nothing on MR, PET or radiograph values, so those get windows over the image's own
    percentiles instead (computed once, from a sample of the volume).
    """
    if volume.info.modality == "CT":
        return CT_PRESETS
    sample = _sample(volume.array)
    return tuple(percentile_window(sample, low, high, name) for name, low, high in PERCENTILE_PRESETS)


PERCENTILE_PRESETS: tuple[tuple[str, float, float], ...] = (
    ("Auto", 0.5, 99.5),
    ("Contrast", 5.0, 95.0),
    ("Bright", 0.5, 90.0),
    ("Dark", 10.0, 99.9),
    ("Full range", 0.0, 100.0),
)
"""Keys 1-5 on images that are not CT: name and the percentiles of non-zero values at the window's ends
("Auto" is :func:`auto_window`)."""
_MIN_INSIDE = 0.02


def percentile_window(values: np.ndarray, low: float, high: float, name: str, ignore_zero: bool = True) -> Window:
    """Window from the ``low``-th to the ``high``-th percentile of the finite (and non-zero) ``values``."""
    flat = _foreground(values, ignore_zero)
    if flat.size == 0:
        return Window(1.0, 0.0, name=name)
    bottom, top = np.percentile(flat, (low, high))
    return Window(max(float(top - bottom), MIN_WIDTH), float(bottom + top) / 2.0, name=name)


def _sample(array: np.ndarray) -> np.ndarray:
    flat = np.asarray(array).reshape(-1)
    return flat[:: flat.size // _AUTO_SAMPLE] if flat.size > _AUTO_SAMPLE else flat


def _foreground(values: np.ndarray, ignore_zero: bool = True) -> np.ndarray:
    """Finite values, without exact zeros (unless every value is zero or ``ignore_zero`` is False)."""
    flat = np.asarray(values).reshape(-1)
    flat = flat[np.isfinite(flat)] if flat.dtype.kind == "f" else flat
    return flat[flat != 0] if ignore_zero and np.any(flat != 0) else flat


def _reads(window: Window, sample: np.ndarray) -> bool:
    """True unless nearly every (non-zero) value falls outside ``window``, all black or all white."""
    flat = _foreground(sample)
    if flat.size == 0 or flat.min() == flat.max():
        return True
    inside = np.count_nonzero((flat > window.low) & (flat < window.high))
    return inside >= _MIN_INSIDE * flat.size


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
