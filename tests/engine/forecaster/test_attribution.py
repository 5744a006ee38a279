"""Attributions move from an hour's input row to the observations the row summarises."""

from __future__ import annotations

import numpy as np
import pytest

from medstation.engine.forecaster.attribution import (
    CARRIED,
    COUNT,
    MASK,
    MAXIMUM,
    MEAN,
    MINIMUM,
    attribution_by_source_hour,
)

NAN = np.nan


def _one_variable(values: list[float], column: int, hour: int, amount: float = 1.0) -> np.ndarray:
    per_column = np.zeros((len(values), 1, 7))
    per_column[hour, 0, column] = amount
    return attribution_by_source_hour(per_column, np.array(values)[:, None])[:, 0]


def test_running_maximum_and_minimum_point_at_the_hours_they_were_reached():
    values = [NAN, 1.0, 5.0, 2.0, NAN, 0.5, NAN]
    assert _one_variable(values, MAXIMUM, 6).tolist() == [0, 0, 1, 0, 0, 0, 0]
    assert _one_variable(values, MINIMUM, 6).tolist() == [0, 0, 0, 0, 0, 1, 0]
    assert _one_variable(values, MINIMUM, 4).tolist() == [0, 1, 0, 0, 0, 0, 0]


def test_carried_value_points_at_the_last_observation_and_the_mask_at_its_own_hour():
    values = [NAN, 1.0, NAN, 3.0, NAN, NAN]
    assert _one_variable(values, CARRIED, 5).tolist() == [0, 0, 0, 1, 0, 0]
    assert _one_variable(values, MASK, 5).tolist() == [0, 0, 0, 0, 0, 1]


def test_mean_and_count_are_shared_by_every_observation_so_far():
    values = [2.0, NAN, 4.0, NAN, 6.0]
    assert _one_variable(values, MEAN, 3, 2.0).tolist() == pytest.approx([1, 0, 1, 0, 0])
    assert _one_variable(values, COUNT, 4, 3.0).tolist() == pytest.approx([1, 0, 1, 0, 1])


def test_before_any_observation_the_attribution_stays_on_its_hour():
    values = [NAN, NAN, 1.0]
    assert _one_variable(values, MEAN, 1).tolist() == [0, 1, 0]
    assert _one_variable(values, CARRIED, 0).tolist() == [1, 0, 0]


def test_totals_per_variable_are_kept():
    rng = np.random.default_rng(0)
    values = np.where(rng.random((49, 5)) < 0.4, rng.normal(size=(49, 5)), np.nan)
    per_column = rng.normal(size=(49, 5, 7))
    moved = attribution_by_source_hour(per_column, values)
    assert moved.sum(0) == pytest.approx(per_column.sum((0, 2)))
