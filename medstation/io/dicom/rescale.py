"""Apply the DICOM modality rescale (slope, intercept) once, choosing the output type.

The result is int16 when every slope and intercept is an integer and the rescaled range fits int16 (CT stored
as uint16 with intercept -1024 fits), otherwise float32; always native byte order. Values are cast before
the intercept is added (numpy 2 refuses ``uint16 + (-1024)``).
"""

from __future__ import annotations

import numpy as np

_INT16 = np.iinfo(np.int16)


def rescale_frames(stored: np.ndarray, slopes: np.ndarray, intercepts: np.ndarray) -> np.ndarray:
    """Rescale ``stored[..., row, column]`` frame by frame.

    ``slopes`` and ``intercepts`` have (or broadcast to) the leading shape ``stored.shape[:-2]``.

    The stored buffer is reused for the int16 result when it is 2 bytes wide, so no second copy is made.
    """
    leading = stored.shape[:-2]
    slopes = np.broadcast_to(np.asarray(slopes, np.float64), leading)
    intercepts = np.broadcast_to(np.asarray(intercepts, np.float64), leading)
    if _fits_int16(stored, slopes, intercepts):
        return _rescale_to_int16(stored, slopes, intercepts)
    result = np.empty(stored.shape, dtype=np.float32)
    for index in np.ndindex(leading):
        result[index] = stored[index].astype(np.float64) * slopes[index] + intercepts[index]
    return result


def _is_integral(values: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))


def _fits_int16(stored: np.ndarray, slopes: np.ndarray, intercepts: np.ndarray) -> bool:
    if stored.size == 0 or not (_is_integral(slopes) and _is_integral(intercepts)):
        return False
    if not np.issubdtype(stored.dtype, np.integer):
        return False
    axes = (-2, -1)
    low = stored.min(axis=axes).astype(np.float64)
    high = stored.max(axis=axes).astype(np.float64)
    ends = np.stack([low * slopes + intercepts, high * slopes + intercepts])
    return bool(ends.min() >= _INT16.min and ends.max() <= _INT16.max)


def _rescale_to_int16(stored: np.ndarray, slopes: np.ndarray, intercepts: np.ndarray) -> np.ndarray:
    if stored.dtype == np.int16 and np.all(slopes == 1) and np.all(intercepts == 0):
        return stored
    if stored.dtype.isnative and stored.dtype.itemsize == 2 and np.all(slopes == 1) and stored.max() <= _INT16.max:
        # Stored values and results both fit int16, so the sum is exact in place.
        result = stored.view(np.int16)
        for index in np.ndindex(stored.shape[:-2]):
            np.add(result[index], np.int16(intercepts[index]), out=result[index])
        return result
    result = stored.view(np.int16) if stored.dtype.itemsize == 2 else np.empty(stored.shape, np.int16)
    for index in np.ndindex(stored.shape[:-2]):
        # Read the stored frame into a wide temporary before the shared buffer is overwritten.
        frame = stored[index].astype(np.int32)
        result[index] = frame * int(slopes[index]) + int(intercepts[index])
    return result
