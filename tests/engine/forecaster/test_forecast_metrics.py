"""The forecast evaluation protocol's targets, standardised MAE and interval coverage; AUPRC."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from medstation.core.timeline import Timeline, TimeSeries
from medstation.engine.forecaster.metrics import (
    collect_targets,
    forecast_at_targets,
    interval_coverage,
    mean_over_variables,
    observed_up_to,
    pooled_mae,
    training_scales,
)
from medstation.engine.metrics import average_precision
from medstation.errors import MedStationError


def timeline(patient: str, **series: tuple[list[float], list[float]]) -> Timeline:
    return Timeline(patient, series={name: TimeSeries(name, h, v) for name, (h, v) in series.items()})


def test_targets_are_the_values_after_the_origin_within_the_horizon_with_their_hour_bins():
    patients = [
        timeline("a", HR=([20.0, 24.0, 24.5, 25.0, 25.01, 30.0, 36.0, 36.5], [70, 72, 80, 81, 82, 90, 99, 100])),
        timeline("b", HR=([25.0, 26.0], [60, 61])),  # nothing at or before the origin: no targets
        timeline("c", MAP=([1.0, 27.0], [80, 85])),  # no HR at all
        timeline("d", HR=([24.0, 29.5], [50, 55])),  # an observation exactly at the origin counts as seen
    ]
    targets = collect_targets(patients, "HR", origin=24.0, horizon=12)
    assert targets.patient.tolist() == [0, 0, 0, 0, 0, 3]
    assert targets.bin.tolist() == [1, 1, 2, 6, 12, 6]
    assert targets.value.tolist() == [80, 81, 82, 90, 99, 55]

    shorter = collect_targets(patients, "HR", origin=24.0, horizon=6)
    assert shorter.value.tolist() == [80, 81, 82, 90, 55]
    later = collect_targets(patients, "HR", origin=30.0, horizon=12)
    assert later.patient.tolist() == [0, 0]
    assert later.bin.tolist() == [6, 7]
    assert len(collect_targets(patients, "Lactate", 24.0, 12)) == 0


def test_each_target_is_compared_with_its_patients_forecast_for_its_bin():
    patients = [timeline("a", HR=([10.0, 24.2, 27.9], [1, 2, 3])), timeline("b", HR=([24.0, 35.0], [4, 5]))]
    targets = collect_targets(patients, "HR", origin=24.0, horizon=12)
    forecast = np.arange(2 * 12 * 3, dtype=float).reshape(2, 12, 3)
    rows = forecast_at_targets(forecast, targets)
    np.testing.assert_array_equal(rows, [forecast[0, 0], forecast[0, 3], forecast[1, 10]])


def test_observed_up_to_includes_the_hour_itself():
    patient = timeline("a", HR=([1.0, 2.0, 3.0], [10, 20, 30]))
    assert observed_up_to(patient, "HR", 2.0).tolist() == [10, 20]
    assert observed_up_to(patient, "MAP", 2.0).size == 0


def test_scales_are_the_standard_deviation_of_all_training_observations():
    patients = [timeline("a", HR=([1.0, 2.0], [60.0, 80.0])), timeline("b", HR=([1.0], [100.0])), timeline("c")]
    assert training_scales(patients, ["HR"])["HR"] == pytest.approx(np.std([60.0, 80.0, 100.0]))
    with pytest.raises(MedStationError, match="Lactate"):
        training_scales(patients, ["Lactate"])
    with pytest.raises(MedStationError, match="no spread"):
        training_scales([timeline("a", GCS=([1.0, 2.0], [15.0, 15.0]))], ["GCS"])


def test_mae_pools_every_target_up_to_each_horizon_in_standardised_units():
    values = np.array([10.0, 10.0, 10.0, 10.0])
    predicted = np.array([12.0, 6.0, 10.0, 22.0])
    bins = np.array([1, 1, 2, 4])
    mae = pooled_mae(values, predicted, bins, scale=2.0, horizon=5)
    assert mae["1"] == pytest.approx((1.0 + 2.0) / 2)
    assert mae["2"] == pytest.approx((1.0 + 2.0 + 0.0) / 3)
    assert mae["3"] == pytest.approx(1.0)
    assert mae["4"] == pytest.approx((1.0 + 2.0 + 0.0 + 6.0) / 4)
    assert mae["5"] == mae["4"]
    assert pooled_mae(values, predicted, np.array([3, 3, 3, 3]), 1.0, 3)["2"] is None


def test_mean_over_variables_is_per_horizon_and_none_when_a_variable_has_no_value():
    per_variable = {"HR": {"1": 0.2, "2": 0.4}, "MAP": {"1": 0.4, "2": None}}
    assert mean_over_variables(per_variable) == {"1": pytest.approx(0.3), "2": None}


def test_coverage_counts_targets_inside_the_interval_and_missing_intervals_as_outside():
    values = np.array([1.0, 2.0, 3.0, 4.0])
    low = np.array([0.0, 2.0, 3.5, np.nan])
    high = np.array([2.0, 2.0, 5.0, 9.0])
    assert interval_coverage(values, low, high) == pytest.approx(2 / 4)
    assert math.isnan(interval_coverage(values, np.full(4, np.nan), np.full(4, np.nan)))
    assert math.isnan(interval_coverage(np.empty(0), np.empty(0), np.empty(0)))


def test_average_precision_on_a_worked_example_and_against_scikit_learn():
    # thresholds 0.9 (P 1, R 1/2), 0.8 (P 1/2, R 1/2), 0.7 (P 2/3, R 1): AP = 1/2 * 1 + 1/2 * 2/3
    assert average_precision([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]) == pytest.approx(0.5 + 1 / 3)
    assert average_precision([1, 1, 0], [0.5, 0.5, 0.5]) == pytest.approx(2 / 3)
    assert math.isnan(average_precision([0, 0], [0.3, 0.6]))
    generator = np.random.default_rng(3)
    labels = generator.integers(0, 2, 300)
    scores = np.round(generator.random(300) + 0.3 * labels, 1)
    assert average_precision(labels, scores) == pytest.approx(average_precision_score(labels, scores))
