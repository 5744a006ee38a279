"""Evaluation of an ICU forecaster on held-out patients against the baselines, as the docs/design.md §3 ``evaluate``
body: forecast MAE per variable and horizon, 80% interval coverage, mortality AUROC / AUPRC / ECE at hour 48 with
subgroup gaps, the same for the baselines trained on the same training set in the same run, and the goals.

Protocol (:mod:`medstation.engine.forecaster.metrics`): forecast origins at hours 24, 30 and 36, horizons 1..12 h,
errors standardised by the training set's per-variable standard deviation, the same targets for every method.
Where a method gives no median (NaN) for a target, the last observation is used in its place, and the count of such
targets is reported as ``filled_by_locf``, so every method is scored on every target.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from medstation.core.timeline import ICU_TYPES, Timeline
from medstation.engine.calibration import expected_calibration_error
from medstation.engine.forecaster.baselines import (
    GradientBoostingMortality,
    LastMeanBlend,
    LastObservation,
    LinearTrend,
    tune_blend_weights,
)
from medstation.engine.forecaster.metrics import (
    Targets,
    collect_targets,
    forecast_at_targets,
    interval_coverage,
    mean_over_variables,
    pooled_mae,
    training_scales,
)
from medstation.engine.metrics import average_precision, roc_auc
from medstation.errors import MedStationError, ModelError
from medstation.progress import CancelToken, ProgressCallback, check_cancelled, report

DEFAULT_EVAL_VARIABLES = ("HR", "MAP", "SysABP", "RespRate", "Temp", "GCS", "Lactate", "Creatinine", "Glucose", "SaO2")
ORIGINS = (24.0, 30.0, 36.0)
HORIZON = 12
RISK_HOUR = 48.0
GOAL_HORIZON = "6"
COVERAGE_TARGET = 0.8
COVERAGE_TOLERANCE = 0.05
AGE_BANDS = ((0.0, "under 50"), (50.0, "50-64"), (65.0, "65-79"), (80.0, "80 and over"))
SEXES = {0.0: "female", 1.0: "male"}


class TrendMethod(Protocol):
    """Forecasts each variable's hour bins after an origin from the data up to it."""

    variables: tuple[str, ...]

    def predict_trend(self, timelines: list[Timeline], origin: float, horizon: int) -> dict[str, np.ndarray]:
        """Per variable ``[N, horizon, 3]`` (p10, p50, p90) in its own unit; NaN where it cannot predict."""


class ForecastMethod(TrendMethod, Protocol):
    """A trend method that also gives the risk of in-hospital death."""

    def predict_risk(self, timelines: list[Timeline], hour: float) -> np.ndarray:
        """``[N]`` probabilities of in-hospital death from the data up to ``hour``."""


def _json_number(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def labels_for(timelines: Sequence[Timeline], labels: Mapping[str, int] | Sequence[int], role: str) -> np.ndarray:
    """In-hospital death (0/1) per timeline, from ``{patient id: label}`` or a sequence in timeline order."""
    if isinstance(labels, Mapping):
        missing = [t.patient_id for t in timelines if t.patient_id not in labels]
        if missing:
            raise MedStationError(
                f"{len(missing)} {role} patients have no outcome (first: {missing[0]}); give the outcomes file that "
                "belongs to these records"
            )
        labels = [labels[t.patient_id] for t in timelines]
    values = np.asarray(labels, dtype=int).ravel()
    if values.size != len(timelines) or not np.isin(values, (0, 1)).all():
        raise MedStationError(f"{role} outcomes must be one 0/1 label per patient ({len(timelines)} patients)")
    return values


def _age_band(age: float | None) -> str:
    if age is None or not age >= AGE_BANDS[0][0]:
        return "unknown"
    return [name for low, name in AGE_BANDS if age >= low][-1]


def _icu_type(code: float | None) -> str:
    return ICU_TYPES.get(int(code), "unknown") if code is not None and math.isfinite(code) else "unknown"


def subgroups(timelines: Sequence[Timeline]) -> dict[str, np.ndarray]:
    """Per patient its sex, age band and ICU type names ("unknown" where the record does not say)."""
    return {
        "sex": np.array([SEXES.get(t.static.get("Gender"), "unknown") for t in timelines]),
        "age_band": np.array([_age_band(t.static.get("Age")) for t in timelines]),
        "icu_type": np.array([_icu_type(t.static.get("ICUType")) for t in timelines]),
    }


def subgroup_table(labels: np.ndarray, risk: np.ndarray, groups: np.ndarray) -> dict[str, Any]:
    """Per group its AUROC (None with one outcome only), patients and deaths, and the largest AUROC gap."""
    table = {}
    for name in sorted(set(groups.tolist())):
        inside = groups == name
        table[name] = {
            "auroc": _json_number(roc_auc(labels[inside], risk[inside])),
            "n": int(inside.sum()),
            "deaths": int(labels[inside].sum()),
        }
    defined = {name: row["auroc"] for name, row in table.items() if row["auroc"] is not None}
    gap = None
    if len(defined) >= 2:
        highest, lowest = max(defined, key=defined.__getitem__), min(defined, key=defined.__getitem__)
        gap = {"gap": defined[highest] - defined[lowest], "highest": highest, "lowest": lowest}
    return {"groups": table, "largest_gap": gap}


def risk_metrics(labels: np.ndarray, risk: np.ndarray, groups: dict[str, np.ndarray]) -> dict[str, Any]:
    """Mortality AUROC, AUPRC, ECE (top-label, 15 bins) and the subgroup tables of one risk model."""
    return {
        "mortality_auroc": _json_number(roc_auc(labels, risk)),
        "mortality_auprc": _json_number(average_precision(labels, risk)),
        "ece": _json_number(expected_calibration_error(labels, risk)),
        "subgroups": {kind: subgroup_table(labels, risk, names) for kind, names in groups.items()},
    }


def _checked_forecast(method: TrendMethod, forecasts: dict, variable: str, patients: int) -> np.ndarray:
    forecast = forecasts.get(variable)
    shape = (patients, HORIZON, 3)
    if forecast is None or np.shape(forecast) != shape:
        found = "nothing" if forecast is None else f"shape {np.shape(forecast)}"
        raise ModelError(
            f"{type(method).__name__} gave {found} for {variable}, expected {shape}; evaluate only the variables it "
            "forecasts"
        )
    return np.asarray(forecast, dtype=float)


def method_at_targets(
    method: TrendMethod,
    timelines: list[Timeline],
    targets: dict[str, list[Targets]],
    cancel: CancelToken = None,
) -> dict[str, np.ndarray]:
    """Per variable the ``[T, 3]`` forecast rows of every target, origins in order as in ``targets``."""
    rows: dict[str, list[np.ndarray]] = {variable: [] for variable in targets}
    for index, origin in enumerate(ORIGINS):
        check_cancelled(cancel)
        forecasts = method.predict_trend(timelines, origin, HORIZON)
        for variable, per_origin in targets.items():
            forecast = _checked_forecast(method, forecasts, variable, len(timelines))
            rows[variable].append(forecast_at_targets(forecast, per_origin[index]))
    return {variable: np.concatenate(parts) for variable, parts in rows.items()}


def trend_metrics(
    rows: dict[str, np.ndarray],
    targets: dict[str, list[Targets]],
    scales: dict[str, float],
    fallback: dict[str, np.ndarray],
) -> dict[str, Any]:
    """MAE per variable and horizon (and their mean), 80% coverage, and how many medians the fallback filled."""
    mae, coverage, filled = {}, {}, 0
    for variable, forecast in rows.items():
        values = np.concatenate([t.value for t in targets[variable]])
        bins = np.concatenate([t.bin for t in targets[variable]])
        median = forecast[:, 1]
        missing = np.isnan(median)
        filled += int(missing.sum())
        median = np.where(missing, fallback[variable], median)
        mae[variable] = pooled_mae(values, median, bins, scales[variable], HORIZON)
        coverage[variable] = _json_number(interval_coverage(values, forecast[:, 0], forecast[:, 2]))
    mae["mean"] = mean_over_variables(mae)
    covered = [value for value in coverage.values() if value is not None]
    coverage["mean"] = float(np.mean(covered)) if len(covered) == len(rows) and covered else None
    return {"mae": mae, "coverage80": coverage, "filled_by_locf": filled}


MORTALITY_AUROC_GOAL = 0.87


def goals(metrics: dict[str, Any], baselines: dict[str, Any]) -> tuple[dict[str, bool], dict[str, dict]]:
    """The goals met (booleans) and, per goal, the method's value and the threshold it is held to."""
    mae = metrics["mae"]["mean"][GOAL_HORIZON]
    gbm = baselines["gbm"]
    locf = baselines["locf"]["mae"]["mean"][GOAL_HORIZON]
    checks = {
        f"mae_{GOAL_HORIZON}h_15pct_below_locf": (mae, None if locf is None else 0.85 * locf, "at most"),
        f"mae_{GOAL_HORIZON}h_below_blend": (mae, baselines["blend"]["mae"]["mean"][GOAL_HORIZON], "below"),
        "mortality_auroc_at_least_0.87": (metrics["mortality_auroc"], MORTALITY_AUROC_GOAL, "at least"),
        "mortality_auroc_above_gbm": (metrics["mortality_auroc"], gbm["mortality_auroc"], "above"),
    }
    met, thresholds = {}, {}
    for name, (value, threshold, rule) in checks.items():
        ok = value is not None and threshold is not None
        met[name] = ok and {
            "below": value < threshold, "above": value > threshold, "at most": value <= threshold,
            "at least": value >= threshold,
        }[rule]
        thresholds[name] = {"value": value, "threshold": threshold, "rule": rule}
    coverage = metrics["coverage80"]["mean"]
    met["coverage80_within_5_points"] = coverage is not None and abs(coverage - COVERAGE_TARGET) <= COVERAGE_TOLERANCE
    thresholds["coverage80_within_5_points"] = {
        "value": coverage,
        "threshold": [COVERAGE_TARGET - COVERAGE_TOLERANCE, COVERAGE_TARGET + COVERAGE_TOLERANCE],
        "rule": "within",
    }
    return met, thresholds


@dataclass
class Protocol:
    """The test patients' targets and outcomes, and the training set's scales, shared by every method scored."""

    variables: tuple[str, ...]
    scales: dict[str, float]
    targets: dict[str, list[Targets]]
    train_labels: np.ndarray
    test_labels: np.ndarray
    groups: dict[str, np.ndarray]

    def summary(self) -> dict[str, Any]:
        return {
            "origins_hours": list(ORIGINS),
            "horizons_hours": HORIZON,
            "risk_hour": RISK_HOUR,
            "variables": list(self.variables),
            "scales": self.scales,
            "targets": {v: int(sum(len(t) for t in per_origin)) for v, per_origin in self.targets.items()},
            "train_patients": int(self.train_labels.size),
            "test_patients": int(self.test_labels.size),
            "test_deaths": int(self.test_labels.sum()),
        }


def prepare_protocol(
    train_timelines: list[Timeline],
    train_labels: Mapping[str, int] | Sequence[int],
    test_timelines: list[Timeline],
    test_labels: Mapping[str, int] | Sequence[int],
    variables: Sequence[str] = DEFAULT_EVAL_VARIABLES,
) -> Protocol:
    """Scales from the training patients; targets, outcomes and subgroups of the test patients."""
    if not train_timelines or not test_timelines:
        raise MedStationError("evaluating a forecaster needs training and test patients; one of the sets is empty")
    variables = tuple(variables)
    return Protocol(
        variables,
        training_scales(train_timelines, variables),
        {v: [collect_targets(test_timelines, v, o, HORIZON) for o in ORIGINS] for v in variables},
        labels_for(train_timelines, train_labels, "training"),
        labels_for(test_timelines, test_labels, "test"),
        subgroups(test_timelines),
    )


def evaluate_baselines(
    protocol: Protocol,
    train_timelines: list[Timeline],
    test_timelines: list[Timeline],
    progress: ProgressCallback | None = None,
    cancel: CancelToken = None,
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The baselines' results (``locf``, ``linear``, ``blend``, ``gbm``), tuned and trained on the training patients
    only, and LOCF's median at every target (the stand-in where a method gives none)."""
    report(progress, 0.0, "tuning the blend baseline on the training set")
    weights = tune_blend_weights(train_timelines, protocol.variables, ORIGINS, HORIZON)
    check_cancelled(cancel)
    report(progress, 0.25, "training the gradient-boosting mortality baseline")
    gbm = GradientBoostingMortality().fit(train_timelines, protocol.train_labels, RISK_HOUR)
    check_cancelled(cancel)
    report(progress, 0.75, "forecasting with the baselines")
    trend_baselines = {
        "locf": LastObservation(protocol.variables),
        "linear": LinearTrend(protocol.variables),
        "blend": LastMeanBlend(weights),
    }
    rows = {name: method_at_targets(b, test_timelines, protocol.targets, cancel) for name, b in trend_baselines.items()}
    locf_median = {variable: forecast[:, 1] for variable, forecast in rows["locf"].items()}
    baselines: dict[str, Any] = {
        name: {"mae": trend_metrics(forecasts, protocol.targets, protocol.scales, locf_median)["mae"]}
        for name, forecasts in rows.items()
    }
    baselines["linear"]["window_hours"] = trend_baselines["linear"].window
    baselines["blend"]["weights"] = weights
    risk = gbm.predict_risk(test_timelines, RISK_HOUR)
    baselines["gbm"] = risk_metrics(protocol.test_labels, risk, protocol.groups)
    report(progress, 1.0, "baselines done")
    return baselines, locf_median


def evaluate_forecaster(
    method: ForecastMethod,
    train_timelines: list[Timeline],
    train_labels: Mapping[str, int] | Sequence[int],
    test_timelines: list[Timeline],
    test_labels: Mapping[str, int] | Sequence[int],
    progress: ProgressCallback | None = None,
    cancel: CancelToken = None,
    variables: Sequence[str] = DEFAULT_EVAL_VARIABLES,
    split: str = "held-out test",
) -> dict[str, Any]:
    """``{"split", "protocol", "metrics", "baselines", "goals", "goal_thresholds"}`` for ``method`` on the test
    patients; the baselines are tuned and trained on the training patients (never on the test ones)."""
    protocol = prepare_protocol(train_timelines, train_labels, test_timelines, test_labels, variables)
    check_cancelled(cancel)
    baselines, locf_median = evaluate_baselines(
        protocol, train_timelines, test_timelines, lambda f, m: report(progress, 0.05 + 0.6 * f, m), cancel
    )
    report(progress, 0.7, "forecasting with the model")
    rows = method_at_targets(method, test_timelines, protocol.targets, cancel)
    metrics = trend_metrics(rows, protocol.targets, protocol.scales, locf_median)
    check_cancelled(cancel)
    report(progress, 0.9, f"mortality risk at hour {RISK_HOUR:g}")
    risk = np.asarray(method.predict_risk(test_timelines, RISK_HOUR), dtype=float).ravel()
    if risk.size != len(test_timelines) or np.isnan(risk).any():
        raise ModelError(
            f"{type(method).__name__} gave {risk.size} risks for {len(test_timelines)} patients (or NaN); it must "
            "give one probability per patient"
        )
    metrics.update(risk_metrics(protocol.test_labels, risk, protocol.groups))
    met, thresholds = goals(metrics, baselines)
    report(progress, 1.0, "evaluation done")
    return {
        "split": split,
        "protocol": protocol.summary(),
        "metrics": metrics,
        "baselines": baselines,
        "goals": met,
        "goal_thresholds": thresholds,
    }
