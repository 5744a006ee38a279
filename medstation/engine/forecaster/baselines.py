"""The baselines an ICU forecaster must beat, each what someone would use instead of an LSTM.

Trend baselines (point forecasts: p10 = p90 = NaN) share :meth:`predict_trend` with the forecaster:

- :class:`LastObservation` carries the last value forward (LOCF).
- :class:`LinearTrend` is a clinician reading the chart by eye: a least-squares line through the patient's own
  values of the last ``window`` hours before the origin, extended forward and kept inside the variable's plausible
  range (nobody extrapolates a GCS above 15). With fewer than two distinct times in the window it carries the last
  value forward. Twelve hours (one nursing shift) holds enough hourly vitals to see a trend and is short enough
  for the line to follow the recent course; 6 and 24 hours were both worse on PhysioNet 2012 (benchmarks/README.md).
- :class:`LastMeanBlend` is a statistician's first try: ``w * last + (1 - w) * mean so far`` with one weight per
  variable, tuned by grid search on the training set under the evaluation protocol (:func:`tune_blend_weights`).

The mortality baseline, :class:`GradientBoostingMortality`, is scikit-learn's ``HistGradientBoostingClassifier``
(``max_iter=300, learning_rate=0.05, random_state=0``) on per-variable summaries of the hours up to the risk hour:
last, min, max, mean and count, values below 0 treated as missing, and the admission attributes Age, Gender,
Height and ICUType (admission Weight is already the first value of the Weight series). On PhysioNet 2012 set-a ->
set-b the attributes lift the AUROC from 0.853 to 0.860, the figure the issue's author measured.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from medstation.core.timeline import VARIABLES, Timeline
from medstation.engine.forecaster.metrics import collect_targets, observed_up_to
from medstation.errors import MedStationError

TREND_WINDOW_HOURS = 12.0
BLEND_GRID = np.round(np.linspace(0.0, 1.0, 101), 2)
SUMMARY_STATISTICS = ("last", "min", "max", "mean", "count")
ADMISSION_ATTRIBUTES = ("Age", "Gender", "Height", "ICUType")


def _point_forecast(p50: np.ndarray) -> np.ndarray:
    """``[N, horizon, 3]`` with the median from ``p50`` (``[N, horizon]``) and no interval."""
    forecast = np.full((*p50.shape, 3), np.nan)
    forecast[..., 1] = p50
    return forecast


class LastObservation:
    """Last observation carried forward: every future hour is forecast as the last value at or before the origin."""

    def __init__(self, variables: Sequence[str]):
        self.variables = tuple(variables)

    def predict_trend(self, timelines: Sequence[Timeline], origin: float, horizon: int) -> dict[str, np.ndarray]:
        forecasts = {}
        for variable in self.variables:
            last = np.full(len(timelines), np.nan)
            for index, timeline in enumerate(timelines):
                seen = observed_up_to(timeline, variable, origin)
                if seen.size:
                    last[index] = seen[-1]
            forecasts[variable] = _point_forecast(np.repeat(last[:, None], horizon, axis=1))
        return forecasts


def fit_line(hours: np.ndarray, values: np.ndarray) -> tuple[float, float] | None:
    """Least-squares ``(slope, intercept)`` of values against hours; None with fewer than two distinct hours."""
    if np.unique(hours).size < 2:
        return None
    slope, intercept = np.polyfit(hours, values, 1)
    return float(slope), float(intercept)


class LinearTrend:
    """A least-squares line through the last ``window`` hours, forecast at each bin's middle hour (see module)."""

    def __init__(self, variables: Sequence[str], window: float = TREND_WINDOW_HOURS):
        self.variables = tuple(variables)
        self.window = float(window)

    def _patient_line(self, timeline: Timeline, variable: str, origin: float, middles: np.ndarray) -> np.ndarray:
        series = timeline.series.get(variable)
        if series is None:
            return np.full(middles.size, np.nan)
        end = np.searchsorted(series.hours, origin, side="right")
        if end == 0:
            return np.full(middles.size, np.nan)
        start = np.searchsorted(series.hours, origin - self.window, side="left")
        line = fit_line(series.hours[start:end], series.values[start:end])
        if line is None:
            return np.full(middles.size, series.values[end - 1])
        slope, intercept = line
        limits = VARIABLES.get(variable)
        forecast = slope * middles + intercept
        return np.clip(forecast, limits.low, limits.high) if limits else forecast

    def predict_trend(self, timelines: Sequence[Timeline], origin: float, horizon: int) -> dict[str, np.ndarray]:
        middles = origin + np.arange(horizon) + 0.5
        return {
            variable: _point_forecast(np.stack([self._patient_line(t, variable, origin, middles) for t in timelines]))
            for variable in self.variables
        }


def last_and_mean(timelines: Sequence[Timeline], variable: str, origin: float) -> tuple[np.ndarray, np.ndarray]:
    """Per patient, the last value and the mean of all values at or before ``origin`` (NaN where there is none)."""
    last, mean = np.full(len(timelines), np.nan), np.full(len(timelines), np.nan)
    for index, timeline in enumerate(timelines):
        seen = observed_up_to(timeline, variable, origin)
        if seen.size:
            last[index], mean[index] = seen[-1], seen.mean()
    return last, mean


class LastMeanBlend:
    """``w * last + (1 - w) * mean of the values so far``, one weight ``w`` in [0, 1] per variable."""

    def __init__(self, weights: Mapping[str, float]):
        self.weights = {name: float(w) for name, w in weights.items()}
        self.variables = tuple(self.weights)

    def predict_trend(self, timelines: Sequence[Timeline], origin: float, horizon: int) -> dict[str, np.ndarray]:
        forecasts = {}
        for variable, weight in self.weights.items():
            last, mean = last_and_mean(timelines, variable, origin)
            blend = weight * last + (1.0 - weight) * mean
            forecasts[variable] = _point_forecast(np.repeat(blend[:, None], horizon, axis=1))
        return forecasts


def tune_blend_weights(
    timelines: Sequence[Timeline],
    variables: Sequence[str],
    origins: Sequence[float],
    horizon: int,
    grid: np.ndarray = BLEND_GRID,
) -> dict[str, float]:
    """Per variable, the grid weight with the lowest MAE over every protocol target within ``horizon`` hours of the
    ``origins`` in these (training) timelines. The blend is flat over the horizon, so one weight serves all."""
    weights = {}
    for variable in variables:
        lasts, means, values = [], [], []
        for origin in origins:
            targets = collect_targets(timelines, variable, origin, horizon)
            last, mean = last_and_mean(timelines, variable, origin)
            lasts.append(last[targets.patient])
            means.append(mean[targets.patient])
            values.append(targets.value)
        last, mean, value = np.concatenate(lasts), np.concatenate(means), np.concatenate(values)
        if value.size == 0:
            raise MedStationError(
                f"{variable}: no observation of it falls in the forecast windows of the training timelines, so "
                "its blend weight cannot be tuned; train on more patients or leave the variable out"
            )
        errors = [np.mean(np.abs(w * last + (1.0 - w) * mean - value)) for w in grid]
        weights[variable] = float(grid[int(np.argmin(errors))])
    return weights


def summary_features(
    timelines: Sequence[Timeline],
    hour: float,
    variables: Sequence[str] = tuple(VARIABLES),
    attributes: Sequence[str] = ADMISSION_ATTRIBUTES,
) -> np.ndarray:
    """``[N, 5 * len(variables) + len(attributes)]``: per variable the last, min, max, mean and count of its values
    at or before ``hour``, then the admission attributes. Values below 0 are missing: NaN (count 0 where no value of
    a variable is left)."""
    summaries = np.full((len(timelines), len(variables), len(SUMMARY_STATISTICS)), np.nan)
    for row, timeline in enumerate(timelines):
        for column, variable in enumerate(variables):
            seen = observed_up_to(timeline, variable, hour)
            seen = seen[seen >= 0]
            summaries[row, column, 4] = seen.size
            if seen.size:
                summaries[row, column, :4] = seen[-1], seen.min(), seen.max(), seen.mean()
    admission = np.array([[t.static.get(name, np.nan) for name in attributes] for t in timelines], dtype=float)
    admission = admission.reshape(len(timelines), len(attributes))
    admission[admission < 0] = np.nan
    return np.hstack([summaries.reshape(len(timelines), -1), admission])


class GradientBoostingMortality:
    """In-hospital mortality from :func:`summary_features` with a ``HistGradientBoostingClassifier``."""

    def __init__(self, variables: Sequence[str] = tuple(VARIABLES)):
        self.variables = tuple(variables)
        self._model = None
        self._observed: np.ndarray | None = None

    def fit(self, timelines: Sequence[Timeline], labels: Sequence[int], hour: float) -> GradientBoostingMortality:
        """Train on the summaries of the hours up to ``hour``; ``labels`` are 0 survived / 1 died, one per patient.

        Features no training patient has (a variable never measured) are left out: they carry nothing to learn.
        """
        from sklearn.ensemble import HistGradientBoostingClassifier

        labels = np.asarray(labels, dtype=int)
        if len(set(labels.tolist())) < 2:
            raise MedStationError("the mortality baseline needs patients who died and patients who survived")
        features = summary_features(timelines, hour, self.variables)
        self._observed = ~np.isnan(features).all(axis=0)
        model = HistGradientBoostingClassifier(max_iter=300, learning_rate=0.05, random_state=0)
        self._model = model.fit(features[:, self._observed], labels)
        return self

    def predict_risk(self, timelines: Sequence[Timeline], hour: float) -> np.ndarray:
        """``[N]`` probabilities of in-hospital death from the data at or before ``hour``."""
        if self._model is None:
            raise MedStationError("the mortality baseline has not been trained; call fit() first")
        features = summary_features(timelines, hour, self.variables)[:, self._observed]
        return self._model.predict_proba(features)[:, 1]


class BaselineForecaster:
    """A trend baseline and the mortality baseline as one method, with the forecaster's two methods."""

    def __init__(self, trend: LastObservation | LinearTrend | LastMeanBlend, risk: GradientBoostingMortality):
        self.trend, self.risk = trend, risk
        self.variables = trend.variables

    def predict_trend(self, timelines: Sequence[Timeline], origin: float, horizon: int) -> dict[str, np.ndarray]:
        return self.trend.predict_trend(timelines, origin, horizon)

    def predict_risk(self, timelines: Sequence[Timeline], hour: float) -> np.ndarray:
        return self.risk.predict_risk(timelines, hour)
