"""The forecaster's baselines on hand-built series with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier  # noqa: F401 (loads OpenMP before the limit)
from threadpoolctl import threadpool_limits

from medstation.core.timeline import Timeline, TimeSeries
from medstation.engine.forecaster.baselines import (
    ADMISSION_ATTRIBUTES,
    SUMMARY_STATISTICS,
    BaselineForecaster,
    GradientBoostingMortality,
    LastMeanBlend,
    LastObservation,
    LinearTrend,
    fit_line,
    summary_features,
    tune_blend_weights,
)
from medstation.errors import MedStationError


def timeline(patient: str, static: dict | None = None, **series: tuple[list[float], list[float]]) -> Timeline:
    return Timeline(patient, dict(static or {}), {n: TimeSeries(n, h, v) for n, (h, v) in series.items()})


def test_locf_repeats_the_last_value_at_or_before_the_origin_without_an_interval():
    patients = [timeline("a", HR=([2.0, 24.0, 25.0], [70.0, 75.0, 99.0])), timeline("b", HR=([30.0], [60.0]))]
    forecast = LastObservation(["HR"]).predict_trend(patients, origin=24.0, horizon=4)["HR"]
    assert forecast.shape == (2, 4, 3)
    np.testing.assert_array_equal(forecast[0, :, 1], [75.0] * 4)
    assert np.isnan(forecast[1]).all()
    assert np.isnan(forecast[..., [0, 2]]).all()


def test_linear_trend_extends_the_least_squares_line_of_the_window_to_each_bins_middle():
    hours = [1.0, 14.0, 16.0, 20.0, 24.0]
    values = [500.0] + [2.0 * h + 1.0 for h in hours[1:]]  # the point at hour 1 lies outside the 12-hour window
    patients = [timeline("a", HR=(hours, values)), timeline("b", HR=([10.0, 23.0], [80.0, 81.0]))]
    forecast = LinearTrend(["HR"], window=12.0).predict_trend(patients, origin=24.0, horizon=3)["HR"]
    np.testing.assert_allclose(forecast[0, :, 1], [2.0 * 24.5 + 1, 2.0 * 25.5 + 1, 2.0 * 26.5 + 1])
    np.testing.assert_allclose(forecast[1, :, 1], [81.0] * 3)  # one point in the window: carried forward
    assert np.isnan(forecast[..., 0]).all() and np.isnan(forecast[..., 2]).all()


def test_linear_trend_stays_inside_the_plausible_range_and_needs_two_distinct_hours():
    rising = timeline("a", GCS=([20.0, 22.0, 24.0], [11.0, 13.0, 15.0]))
    forecast = LinearTrend(["GCS"]).predict_trend([rising], origin=24.0, horizon=2)["GCS"]
    np.testing.assert_array_equal(forecast[0, :, 1], [15.0, 15.0])
    assert fit_line(np.array([3.0, 3.0]), np.array([1.0, 2.0])) is None
    assert fit_line(np.array([0.0, 1.0, 2.0]), np.array([1.0, 3.0, 5.0])) == pytest.approx((2.0, 1.0))


def test_blend_weighs_the_last_value_against_the_mean_so_far():
    patient = timeline("a", HR=([1.0, 2.0, 3.0, 30.0], [2.0, 4.0, 12.0, 500.0]))
    forecast = LastMeanBlend({"HR": 0.25}).predict_trend([patient], origin=24.0, horizon=2)["HR"]
    np.testing.assert_allclose(forecast[0, :, 1], [0.25 * 12.0 + 0.75 * 6.0] * 2)


def test_blend_weights_tuned_on_training_data_recover_the_weights_that_made_it():
    generator = np.random.default_rng(0)
    truth = {"HR": 0.3, "MAP": 0.85}
    patients = []
    for index in range(40):
        series = {}
        for variable, weight in truth.items():
            past = generator.normal(80.0, 10.0, 6)
            future = weight * past[-1] + (1 - weight) * past.mean()
            hours = [2.0, 6.0, 10.0, 15.0, 20.0, 23.5, 25.0, 28.0]
            series[variable] = (hours, [*past, future, future])
        patients.append(timeline(str(index), **series))
    assert tune_blend_weights(patients, ["HR", "MAP"], origins=[24.0], horizon=12) == truth
    with pytest.raises(MedStationError, match="Lactate"):
        tune_blend_weights(patients, ["Lactate"], origins=[24.0], horizon=12)


def test_summary_features_leave_out_negative_values_and_later_hours():
    patient = timeline(
        "a",
        {"Age": 70.0, "Gender": 1.0, "Height": -1.0, "ICUType": 3.0},
        HR=([1.0, 2.0, 3.0, 4.0, 50.0], [80.0, -5.0, 100.0, 90.0, 300.0]),
    )
    features = summary_features([patient], hour=48.0, variables=["HR", "Lactate"])
    per_variable = len(SUMMARY_STATISTICS)
    assert features.shape == (1, 2 * per_variable + len(ADMISSION_ATTRIBUTES))
    np.testing.assert_allclose(features[0, :per_variable], [90.0, 80.0, 100.0, 90.0, 3.0])
    assert np.isnan(features[0, per_variable : 2 * per_variable - 1]).all()
    assert features[0, 2 * per_variable - 1] == 0.0
    np.testing.assert_array_equal(features[0, -4:], [70.0, 1.0, np.nan, 3.0])


def test_gradient_boosting_ranks_the_sicker_patients_higher():
    generator = np.random.default_rng(1)
    patients, labels = [], []
    for index in range(80):
        died = index % 4 == 0
        lactate = generator.normal(6.0 if died else 1.5, 0.5, 3).clip(0.2)
        patients.append(timeline(str(index), {"Age": 60.0}, Lactate=([5.0, 20.0, 40.0], lactate)))
        labels.append(int(died))
    with threadpool_limits(1):  # scikit-learn's OpenMP pool crawls on a busy shared machine
        model = GradientBoostingMortality(variables=["Lactate"]).fit(patients, labels, hour=48.0)
        risk = model.predict_risk(patients, hour=48.0)
        combined = BaselineForecaster(LastObservation(["Lactate"]), model)
        np.testing.assert_array_equal(combined.predict_risk(patients, 48.0), risk)
    labels = np.array(labels)
    assert risk.shape == (80,)
    assert risk[labels == 1].min() > risk[labels == 0].max()
    with pytest.raises(MedStationError, match="died and patients who survived"):
        GradientBoostingMortality(["Lactate"]).fit(patients, [0] * 80, hour=48.0)
    with pytest.raises(MedStationError, match="not been trained"):
        GradientBoostingMortality(["Lactate"]).predict_risk(patients, hour=48.0)
    assert combined.variables == ("Lactate",)
