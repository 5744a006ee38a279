"""Hourly binning of timelines into the forecaster's inputs: values, masks and time since last observation.

Bin ``b`` holds the observations in ``(b - 1, b]`` hours (bin 0 the admission instant), so a forecast made at
hour ``o`` sees bins ``0..o`` and its targets for horizon ``h`` are exactly the bins ``o+1..o+h``. Values are
transformed (log for skewed laboratory values) and standardised with statistics of the training set, which the
bundle stores. Missingness is carried explicitly, GRU-D style: each variable contributes its last observed value
(carried forward), an observed-this-hour mask, the hours since it was last seen, and running summaries so far
(min, max, mean, count).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from medstation.core.timeline import VARIABLES, Timeline

INPUT_VARIABLES: tuple[str, ...] = tuple(VARIABLES)
FORECAST_VARIABLES: tuple[str, ...] = (
    "HR", "MAP", "SysABP", "DiasABP", "RespRate", "Temp", "GCS", "Lactate", "Creatinine", "Glucose", "SaO2",
    "NIMAP", "NISysABP", "pH", "FiO2", "Urine",
)
LOG_VARIABLES = frozenset(
    {"ALP", "ALT", "AST", "Bilirubin", "BUN", "Cholesterol", "Creatinine", "Glucose", "Lactate", "Platelets",
     "TroponinI", "TroponinT", "Urine", "WBC", "PaO2"}
)
STATIC_FEATURES = ("Age", "Gender", "Height", "Weight", "ICU1", "ICU2", "ICU3", "ICU4")
HOURS = 48
DELTA_SCALE = 12.0
PER_VARIABLE = 7
"""Feature columns per variable: value, mask, delta, running min, max, mean, log count."""


def transform(name: str, values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    return np.log1p(np.maximum(values, 0.0)) if name in LOG_VARIABLES else values


def inverse_transform(name: str, values: np.ndarray) -> np.ndarray:
    return np.expm1(values) if name in LOG_VARIABLES else values


@dataclass(frozen=True)
class Normalisation:
    """Per-variable mean and standard deviation of the transformed values, and of the static attributes."""

    mean: dict[str, float]
    std: dict[str, float]

    @classmethod
    def fit(cls, timelines: list[Timeline]) -> Normalisation:
        mean: dict[str, float] = {}
        std: dict[str, float] = {}
        for name in INPUT_VARIABLES:
            parts = [transform(name, t.series[name].values) for t in timelines if name in t.series]
            values = np.concatenate(parts) if parts else np.zeros(1)
            mean[name], std[name] = float(values.mean()), float(values.std() or 1.0)
        for name in ("Age", "Height", "Weight"):
            values = np.array([t.static[name] for t in timelines if name in t.static] or [0.0])
            mean[f"static:{name}"], std[f"static:{name}"] = float(values.mean()), float(values.std() or 1.0)
        return cls(mean, std)

    def to_json(self) -> dict:
        return {"mean": self.mean, "std": self.std}

    @classmethod
    def from_json(cls, document: dict) -> Normalisation:
        return cls(dict(document["mean"]), dict(document["std"]))

    def scale(self, name: str, values: np.ndarray) -> np.ndarray:
        return (transform(name, values) - self.mean[name]) / self.std[name]

    def unscale(self, name: str, values: np.ndarray) -> np.ndarray:
        return inverse_transform(name, np.asarray(values) * self.std[name] + self.mean[name])


def bin_hourly(timeline: Timeline, norm: Normalisation, hours: int = HOURS) -> tuple[np.ndarray, np.ndarray]:
    """Standardised hourly means ``[hours + 1, V]`` (NaN where unobserved) and the observed mask of one patient."""
    values, mask = bin_patients([timeline], norm, hours)
    return values[0], mask[0]


def bin_patients(
    timelines: Sequence[Timeline], norm: Normalisation, hours: int = HOURS
) -> tuple[np.ndarray, np.ndarray]:
    """Standardised hourly means ``[N, hours + 1, V]`` (NaN where unobserved) and the observed mask, for the inputs;
    every patient's observations of a variable are binned in one pass."""
    count = len(timelines)
    values = np.full((count, hours + 1, len(INPUT_VARIABLES)), np.nan, dtype=np.float32)
    for column, name in enumerate(INPUT_VARIABLES):
        rows, found = [], []
        for row, timeline in enumerate(timelines):
            series = timeline.series.get(name)
            if series is not None:
                rows.append(row)
                found.append(series)
        if not found:
            continue
        times = np.concatenate([series.hours for series in found])
        measured = np.concatenate([series.values for series in found])
        patients = np.repeat(np.asarray(rows, dtype=np.int64), [len(series.hours) for series in found])
        bins = np.ceil(times - 1e-9).astype(np.int64)
        keep = (bins >= 0) & (bins <= hours)
        if not keep.any():
            continue
        cells = patients[keep] * (hours + 1) + bins[keep]
        scaled = norm.scale(name, measured[keep])
        sums = np.bincount(cells, weights=scaled, minlength=count * (hours + 1))
        counts = np.bincount(cells, minlength=count * (hours + 1))
        seen = counts > 0
        target = values[:, :, column].reshape(-1)
        target[seen] = sums[seen] / counts[seen]
        values[:, :, column] = target.reshape(count, hours + 1)
    return values, ~np.isnan(values)


def _carry_forward(values: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Last observed value (0 = the training mean before any) and hours since it was seen (capped, scaled), along
    the hour axis of ``[N, H, V]``."""
    steps = np.arange(values.shape[1])[None, :, None]
    last_index = np.where(mask, steps, -1)
    last_index = np.maximum.accumulate(last_index, axis=1)
    ever = last_index >= 0
    carried = np.where(ever, np.take_along_axis(np.nan_to_num(values), np.maximum(last_index, 0), axis=1), 0.0)
    delta = np.where(ever, steps - last_index, steps + 1).astype(np.float32)
    return carried.astype(np.float32), np.minimum(delta, 48.0) / DELTA_SCALE


def _running_summaries(values: np.ndarray, mask: np.ndarray) -> list[np.ndarray]:
    filled_low = np.where(mask, values, np.inf)
    filled_high = np.where(mask, values, -np.inf)
    running_min = np.minimum.accumulate(filled_low, axis=1)
    running_max = np.maximum.accumulate(filled_high, axis=1)
    counts = np.cumsum(mask, axis=1)
    running_mean = np.cumsum(np.nan_to_num(values), axis=1) / np.maximum(counts, 1)
    seen = counts > 0
    return [
        np.where(seen, running_min, 0.0),
        np.where(seen, running_max, 0.0),
        np.where(seen, running_mean, 0.0),
        np.log1p(counts) / math.log(49.0),
    ]


def static_features(timeline: Timeline, norm: Normalisation) -> np.ndarray:
    """Standardised age, sex, height, weight (0 = mean where absent) and the ICU type one-hot."""
    features = np.zeros(len(STATIC_FEATURES), dtype=np.float32)
    for index, name in enumerate(("Age", "Gender", "Height", "Weight")):
        if name not in timeline.static:
            continue
        value = timeline.static[name]
        features[index] = value - 0.5 if name == "Gender" else (value - norm.mean[f"static:{name}"]) / norm.std[
            f"static:{name}"]
    icu = int(timeline.static.get("ICUType", 0))
    if 1 <= icu <= 4:
        features[3 + icu] = 1.0
    return features


def batch_inputs(
    timelines: Sequence[Timeline], norm: Normalisation, hours: int = HOURS
) -> tuple[np.ndarray, np.ndarray]:
    """The model inputs ``[N, hours + 1, F]`` and the binned values ``[N, hours + 1, V]`` (NaN = none) of several
    patients, computed together."""
    values, mask = bin_patients(timelines, norm, hours)
    count, steps, variables = len(timelines), hours + 1, len(INPUT_VARIABLES)
    inputs = np.empty((count, steps, input_size()), dtype=np.float32)
    per_variable = inputs[:, :, : variables * PER_VARIABLE].reshape(count, steps, variables, PER_VARIABLE)
    carried, delta = _carry_forward(values, mask)
    for index, column in enumerate([carried, mask, delta, *_running_summaries(values, mask)]):
        per_variable[..., index] = column
    start = variables * PER_VARIABLE
    for row, timeline in enumerate(timelines):
        inputs[row, :, start : start + len(STATIC_FEATURES)] = static_features(timeline, norm)
    inputs[:, :, -1] = np.arange(steps, dtype=np.float32) / HOURS
    return inputs, values


def patient_inputs(timeline: Timeline, norm: Normalisation, hours: int = HOURS) -> tuple[np.ndarray, np.ndarray]:
    """The model input ``[hours + 1, F]`` for one patient, and the binned values ``[hours + 1, V]`` (NaN = none)."""
    inputs, values = batch_inputs([timeline], norm, hours)
    return inputs[0], values[0]


def input_size() -> int:
    return len(INPUT_VARIABLES) * PER_VARIABLE + len(STATIC_FEATURES) + 1


def carried_columns() -> list[int]:
    """The input columns holding each forecast variable's last observed (standardised) value."""
    return [INPUT_VARIABLES.index(name) * PER_VARIABLE for name in FORECAST_VARIABLES]
