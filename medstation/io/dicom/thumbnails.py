"""Small grey thumbnails of series for the study browser, read from one file of the series only."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from medstation.core.window_level import apply_window, auto_window
from medstation.errors import MedStationError
from medstation.progress import CancelToken, ProgressCallback, check_cancelled, report

THUMBNAIL_PIXELS = 64


def series_thumbnail(paths: list[Path], size: int = THUMBNAIL_PIXELS) -> np.ndarray:
    """A uint8 image of at most ``size`` x ``size`` pixels from the file in the middle of ``paths`` by name.

    Rows and columns are as stored (no patient orientation applied), windowed by percentiles.
    """
    from medstation.io.dicom.scan import scan_files
    from medstation.io.dicom.series import largest_series, load_series

    middle = sorted(paths)[len(paths) // 2]
    volume = load_series(largest_series(scan_files([middle], strict=True)))
    grey = volume.array.mean(axis=-1) if volume.is_rgb else volume.array
    images = grey.reshape(-1, *grey.shape[-2:])
    image = images[len(images) // 2]
    step = max(1, int(np.ceil(max(image.shape) / size)))
    small = np.ascontiguousarray(image[::step, ::step])
    return apply_window(small, auto_window(small, ignore_zero=False))


def series_thumbnails(
    series_files: dict[object, list[Path]], progress: ProgressCallback | None = None, cancel: CancelToken = None
) -> dict[object, np.ndarray]:
    """Thumbnails keyed like ``series_files``; a series whose middle file cannot be read gets none."""
    thumbnails = {}
    for number, (key, paths) in enumerate(series_files.items()):
        check_cancelled(cancel)
        report(progress, number / max(1, len(series_files)), "thumbnails")
        if not paths:
            continue
        try:
            thumbnails[key] = series_thumbnail(paths)
        except MedStationError:
            continue
    report(progress, 1.0, "thumbnails ready")
    return thumbnails
