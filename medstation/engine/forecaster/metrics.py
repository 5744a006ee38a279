"""Forecast metrics under the ICU evaluation protocol: which observations are targets, the per-variable scale that
standardises errors, pooled MAE per horizon, and coverage of the p10..p90 interval.

Protocol. At a forecast origin ``o`` (hours since admission), every observed value of a variable at a time ``t`` in
``(o, o + h]`` is a target for horizon ``h``, compared with the forecast of the hour bin ``ceil(t - o)`` (1-based; bin
``k`` is ``(o + k - 1, o + k]``). A patient's values count as targets only where the patient has at least one
observation of that variable at or before ``o``: without one there is nothing to carry forward, and every method must
be scored on the same targets. Errors are divided by the variable's standard deviation over all training-set
observations, so variables in different units can be averaged. Pure numpy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from medstation.core.timeline import Timeline
from medstation.errors import MedStationError


@dataclass(frozen=True)
class Targets:
    """The targets of one variable at one origin: patient index, 1-based hour bin and observed value (own units)."""

    patient: np.ndarray
    bin: np.ndarray
    value: np.ndarray

    def __len__(self) -> int:
        return len(self.value)


def observed_up_to(timeline: Timeline, variable: str, hour: float) -> np.ndarray:
    """The values of ``variable`` observed at or before ``hour``, oldest first (empty if none)."""
    series = timeline.series.get(variable)
    if series is None:
        return np.empty(0)
    return series.values[: np.searchsorted(series.hours, hour, side="right")]


def collect_targets(timelines: Sequence[Timeline], variable: str, origin: float, horizon: int) -> Targets:
    """Every value of ``variable`` in ``(origin, origin + horizon]`` of each patient with an observation at or before
    ``origin``, with the hour bin it is compared in."""
    patients, bins, values = [], [], []
    for index, timeline in enumerate(timelines):
        series = timeline.series.get(variable)
        if series is None or len(series) == 0 or series.hours[0] > origin:
            continue
        inside = (series.hours > origin) & (series.hours <= origin + horizon)
        if not inside.any():
            continue
        hour_bins = np.clip(np.ceil(series.hours[inside] - origin).astype(int), 1, horizon)
        patients.append(np.full(hour_bins.size, index))
        bins.append(hour_bins)
        values.append(series.values[inside])
    if not values:
        return Targets(np.empty(0, dtype=int), np.empty(0, dtype=int), np.empty(0))
    return Targets(np.concatenate(patients), np.concatenate(bins), np.concatenate(values))


def forecast_at_targets(forecast: np.ndarray, targets: Targets) -> np.ndarray:
    """The rows ``(p10, p50, p90)`` of a ``[N, horizon, 3]`` forecast that the targets are compared with: ``[T, 3]``."""
    return forecast[targets.patient, targets.bin - 1, :]


def training_scales(timelines: Sequence[Timeline], variables: Sequence[str]) -> dict[str, float]:
    """Per variable, the standard deviation of all its observations in the (training) timelines, in its own unit."""
    scales = {}
    for variable in variables:
        values = [t.series[variable].values for t in timelines if variable in t.series]
        pooled = np.concatenate(values) if values else np.empty(0)
        scale = float(np.std(pooled)) if pooled.size >= 2 else 0.0
        if not scale > 0.0:
            raise MedStationError(
                f"{variable}: the training timelines have {pooled.size} observations of it and no spread, so its "
                "forecast errors cannot be standardised; train on more patients or leave the variable out"
            )
        scales[variable] = scale
    return scales


def pooled_mae(
    values: np.ndarray, predicted: np.ndarray, bins: np.ndarray, scale: float, horizon: int
) -> dict[str, float | None]:
    """MAE in standardised units per horizon ``h`` ("1".."horizon"), pooling every target in bins ``1..h``.

    None where a horizon has no target.
    """
    errors = np.abs(np.asarray(predicted, dtype=float) - np.asarray(values, dtype=float)) / scale
    by_bin = np.bincount(bins - 1, weights=errors, minlength=horizon)[:horizon]
    counts = np.bincount(bins - 1, minlength=horizon)[:horizon]
    totals, numbers = np.cumsum(by_bin), np.cumsum(counts)
    return {str(h + 1): (float(totals[h] / numbers[h]) if numbers[h] else None) for h in range(horizon)}


def mean_over_variables(per_variable: dict[str, dict[str, float | None]]) -> dict[str, float | None]:
    """Per horizon, the mean of the variables' MAE (None if any variable has none at that horizon)."""
    horizons = next(iter(per_variable.values())).keys() if per_variable else ()
    mean = {}
    for h in horizons:
        values = [maes[h] for maes in per_variable.values()]
        mean[h] = None if any(v is None for v in values) else float(np.mean(values))
    return mean


def interval_coverage(values: np.ndarray, low: np.ndarray, high: np.ndarray) -> float:
    """The fraction of targets inside ``[low, high]``; a target without an interval (NaN bound) counts as outside.

    NaN when there is no target or no target has an interval (a point forecast).
    """
    values, low, high = (np.asarray(a, dtype=float) for a in (values, low, high))
    defined = ~(np.isnan(low) | np.isnan(high))
    if values.size == 0 or not defined.any():
        return math.nan
    return float(np.count_nonzero(defined & (low <= values) & (values <= high)) / values.size)
