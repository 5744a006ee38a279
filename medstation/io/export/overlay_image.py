"""A slice as the viewer shows it: grey through a window, with overlay layers blended on top, as RGB pixels.

Used where an overlay must travel inside the pixels (the secondary-capture overlay for viewers that cannot show a
Parametric Map, the key images of the PDF report, PNG exports). Rows and columns are the volume's ``[j, i]``: no
reslicing, no resampling.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from medstation.core.layers import OverlayLayer
from medstation.core.volume import Volume
from medstation.core.window_level import Window, apply_window, default_window


def grey_slice(volume: Volume, k: int, window: Window | None = None) -> np.ndarray:
    """uint8 ``[j, i]`` grey of slice ``k`` (first volume of a 4-D series) through ``window`` (default: the
    window the image opens with)."""
    array = volume.array[0] if volume.array.ndim == 4 and not volume.is_rgb else volume.array
    window = window or default_window(volume)
    if volume.is_rgb:
        return np.asarray(array[k].mean(axis=-1), dtype=np.uint8)
    return apply_window(np.asarray(array[k]), window)


def overlay_slice(volume: Volume, k: int, layers: Sequence[OverlayLayer] = (), window: Window | None = None
                  ) -> np.ndarray:
    """uint8 RGB ``[j, i, 3]`` of slice ``k`` with the visible ``layers`` blended in order (each by its alpha)."""
    if volume.is_rgb:
        rgb = np.asarray(volume.array[k][..., :3], dtype=np.float32)
    else:
        rgb = np.repeat(grey_slice(volume, k, window)[..., np.newaxis], 3, axis=2).astype(np.float32)
    for layer in layers:
        if not layer.visible:
            continue
        rgba = layer.colour(layer.display_volume()[k]).astype(np.float32)
        alpha = rgba[..., 3:4] / 255.0
        rgb = rgb * (1.0 - alpha) + rgba[..., :3] * alpha
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
