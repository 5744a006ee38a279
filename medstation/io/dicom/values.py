"""Check the header values that place an image plane in the patient and rescale its pixels.

A damaged or invalid header can hold values no image can have: a position with two numbers, NaN, a zero or
doubled direction, a zero or negative pixel size, an infinite rescale slope. Such values are refused here,
while the header is read, so that a volume never gets an affine that is not finite or cannot be inverted,
nor voxels that are all NaN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

_MIN_NORM = 1e-6
_MIN_SINE = 1e-3  # row and column directions closer than ~0.06 degrees are taken as parallel
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_MAX_MM = 1e6  # a kilometre: no patient coordinate or pixel size comes near it
_ORIENTATION_AXES = {"A": 0, "P": 0, "L": 1, "R": 1, "H": 2, "F": 2}


class ImpossibleValue(ValueError):
    """A position, orientation, pixel spacing or rescale value that no image can have."""


def _finite_numbers(values: Sequence, keyword: str, count: int) -> list[float]:
    numbers = [float(value) for value in values]
    if len(numbers) != count:
        raise ImpossibleValue(f"{keyword} has {len(numbers)} values, expected {count}")
    if not all(math.isfinite(number) and abs(number) <= _MAX_MM for number in numbers):
        raise ImpossibleValue(f"{keyword} is not finite or beyond {_MAX_MM:g} mm: {numbers}")
    return numbers


def checked_position(values: Sequence) -> np.ndarray:
    """ImagePositionPatient as an LPS point (mm)."""
    return np.array(_finite_numbers(values, "ImagePositionPatient", 3), dtype=np.float64)


def checked_orientation(values: Sequence) -> tuple[float, ...]:
    """ImageOrientationPatient's six direction cosines, refused when a direction is zero or both are parallel."""
    cosines = _finite_numbers(values, "ImageOrientationPatient", 6)
    row, column = np.array(cosines[:3]), np.array(cosines[3:])
    row_norm, column_norm = float(np.linalg.norm(row)), float(np.linalg.norm(column))
    if row_norm < _MIN_NORM or column_norm < _MIN_NORM:
        raise ImpossibleValue(f"ImageOrientationPatient has a zero direction: {cosines}")
    if np.linalg.norm(np.cross(row, column)) < _MIN_SINE * row_norm * column_norm:
        raise ImpossibleValue(f"ImageOrientationPatient has parallel row and column directions: {cosines}")
    return tuple(cosines)


def checked_spacing(values: Sequence, keyword: str = "PixelSpacing") -> tuple[float, float]:
    """``(row spacing, column spacing)`` in mm, both positive."""
    spacing = _finite_numbers(values, keyword, 2)
    if min(spacing) <= 0:
        raise ImpossibleValue(f"{keyword} must be positive, got {spacing}")
    return spacing[0], spacing[1]


def checked_rescale(value: object, keyword: str, default: float) -> float:
    """RescaleSlope or RescaleIntercept as a number float32 can hold (``default`` when absent, empty or zero)."""
    number = float(value or default)
    if not math.isfinite(number) or abs(number) > _FLOAT32_MAX:
        raise ImpossibleValue(f"{keyword} is not a finite 32-bit number: {number}")
    return number


def slice_step(value: object) -> float:
    """A nominal slice step (SpacingBetweenSlices or SliceThickness) in mm; 0 when absent or not positive."""
    try:
        step = float(value or 0)
    except (TypeError, ValueError):
        return 0.0
    return step if math.isfinite(step) and step > 0 else 0.0


def patient_orientation(value: object) -> tuple[str, str] | None:
    """PatientOrientation as ``(row direction, column direction)``, e.g. ``("A", "F")``; None when unusable.

    Each of the two values is one to three of the letters A, P, L, R, H, F, at most one per patient axis. The
    value only labels a picture, so an absent or malformed one gives None rather than making the image unreadable.
    """
    if value is None or isinstance(value, (str, bytes)):
        return None
    try:
        directions = tuple(str(item).strip().upper() for item in value)
    except TypeError:
        return None
    if len(directions) != 2:
        return None
    for direction in directions:
        axes = [_ORIENTATION_AXES.get(letter) for letter in direction]
        if not axes or None in axes or len(set(axes)) != len(axes):
            return None
    return directions
