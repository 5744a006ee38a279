"""Header values no image can have are refused with the attribute named; plausible ones pass unchanged."""

from __future__ import annotations

import math

import numpy as np
import pytest

from medstation.io.dicom.values import (
    ImpossibleValue,
    checked_orientation,
    checked_position,
    checked_rescale,
    checked_spacing,
    patient_orientation,
    slice_step,
)


def test_plausible_values_pass_unchanged():
    np.testing.assert_array_equal(checked_position(["-120.5", "3", "700"]), [-120.5, 3.0, 700.0])
    assert checked_orientation([1, 0, 0, 0, 0.95, -0.31]) == (1.0, 0.0, 0.0, 0.0, 0.95, -0.31)
    assert checked_spacing(["0.45", "0.5"]) == (0.45, 0.5)
    assert checked_rescale("-1024", "RescaleIntercept", 0.0) == -1024.0


@pytest.mark.parametrize("check, values, message", [
    (checked_position, ["1", "2"], "ImagePositionPatient has 2 values"),
    (checked_position, ["nan", "0", "0"], "ImagePositionPatient is not finite"),
    (checked_position, ["1e308", "0", "0"], "beyond"),
    (checked_orientation, [0, 0, 0, 0, 1, 0], "zero direction"),
    (checked_orientation, [1, 0, 0, -1, 0, 0], "parallel"),
    (checked_orientation, [1, 0, 0, 0, "inf", 0], "not finite"),
    (checked_spacing, [0, 1], "must be positive"),
    (checked_spacing, [-0.5, 0.5], "must be positive"),
])
def test_impossible_plane_values_are_refused(check, values, message):
    with pytest.raises(ImpossibleValue, match=message):
        check(values)


@pytest.mark.parametrize("value", ["nan", "inf", "1e308"])
def test_rescale_must_fit_float32(value):
    with pytest.raises(ImpossibleValue, match="RescaleSlope is not a finite 32-bit number"):
        checked_rescale(value, "RescaleSlope", 1.0)


def test_absent_or_zero_rescale_takes_the_default():
    assert checked_rescale(None, "RescaleSlope", 1.0) == 1.0
    assert checked_rescale(0.0, "RescaleSlope", 1.0) == 1.0


@pytest.mark.parametrize("value, expected", [("2.5", 2.5), (None, 0.0), ("", 0.0), ("-5", 0.0), ("nan", 0.0),
                                             ("thick", 0.0)])
def test_slice_step_is_zero_unless_a_positive_number(value, expected):
    step = slice_step(value)
    assert step == expected and math.isfinite(step)


@pytest.mark.parametrize("value, expected", [
    (["A", "F"], ("A", "F")),
    (("l", " fr "), ("L", "FR")),
    (["AL", "HP"], ("AL", "HP")),
    (["RHA", "F"], ("RHA", "F")),
])
def test_patient_orientation_reads_two_directions_of_patient_letters(value, expected):
    assert patient_orientation(value) == expected


@pytest.mark.parametrize("value", [None, "", "A", ["A"], ["A", "F", "L"], ["A", ""], ["X", "F"], ["AP", "F"],
                                   ["LL", "F"], 3])
def test_unusable_patient_orientation_gives_none(value):
    assert patient_orientation(value) is None
