"""How far below last-observation-carried-forward a tabular learner gets under the forecast evaluation protocol: a
yardstick for the LSTM's trend head, not part of MedStation.

Per evaluation variable, one scikit-learn ``HistGradientBoostingRegressor`` (absolute error, 300 iterations,
learning rate 0.05) predicts each observation in the 6 hours after an origin, as a change from the last value in
units of the variable's scale, from features of the data up to the origin: the last value and the hours since it,
the value before it, the means of the last 2, 3 and 6 values, the mean, min and max so far, the counts, a 12-hour
least-squares slope, the last value and age of 24 other variables, age, sex, ICU type, height, weight, the origin and
the hour bin of the target. It learns from origins 6, 8, ... 42 h of the training stays and is scored with the
evaluation's own code (origins 24, 30, 36 h) beside LOCF. Bins after 6 h are left to LOCF; only MAE at 6 h counts.

    .venv/bin/python benchmarks/forecast_tabular_probe.py [--test fold0|set-b] [--json]

``fold0`` (default) learns from set-a folds 1-4 and scores set-a fold 0, the split of forecaster_ablation.py;
``set-b`` learns from all of set-a and scores set-b. About 10 minutes on one thread.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from medstation.core.timeline import Timeline
from medstation.engine.forecaster.baselines import LastObservation, fit_line
from medstation.engine.forecaster.evaluation import GOAL_HORIZON, method_at_targets, prepare_protocol, trend_metrics
from medstation.engine.forecaster.training import _folds
from medstation.io.timelines.physionet import read_outcomes, read_records

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "physionet2012"
CONTEXT = ("HR", "MAP", "SysABP", "RespRate", "Temp", "GCS", "Lactate", "Creatinine", "Glucose", "SaO2", "DiasABP",
           "NIMAP", "NISysABP", "pH", "FiO2", "Urine", "PaO2", "PaCO2", "HCO3", "BUN", "WBC", "HCT", "Platelets",
           "MechVent")
STATIC = ("Age", "Gender", "ICUType", "Weight", "Height")
TRAINING_ORIGINS = range(6, 43, 2)
BINS = 6


def _pooled(timelines: list[Timeline], variable: str) -> np.ndarray:
    parts = [t.series[variable].values for t in timelines if variable in t.series]
    return np.concatenate(parts) if parts else np.zeros(1)


class TabularForecaster:
    """The probe's per-variable median regressors, with the trend-method interface of the evaluation."""

    def __init__(self, train: list[Timeline], variables: tuple[str, ...], scales: dict[str, float]):
        from sklearn.ensemble import HistGradientBoostingRegressor

        self.variables, self.scales = variables, scales
        pooled = {c: _pooled(train, c) for c in CONTEXT}
        self.context = {c: (values.mean(), values.std() or 1.0) for c, values in pooled.items()}
        self.models, self.columns = {}, {}
        for variable in variables:
            features, changes = self._training_rows(train, variable)
            self.columns[variable] = ~np.isnan(features).all(axis=0)  # a context variable never seen before
            model = HistGradientBoostingRegressor(loss="absolute_error", max_iter=300, learning_rate=0.05,
                                                  random_state=0)
            self.models[variable] = model.fit(features[:, self.columns[variable]], changes)

    def _features(self, timeline: Timeline, variable: str, origin: float) -> list[float] | None:
        series = timeline.series.get(variable)
        count = 0 if series is None else int(np.searchsorted(series.hours, origin, side="right"))
        if count == 0:
            return None
        hours, values = series.hours[:count], series.values[:count]
        last, scale = values[-1], self.scales[variable]
        recent = hours >= origin - 12
        line = fit_line(hours[recent], values[recent])
        row = [last, origin - hours[-1], *((values[-k:].mean() - last) / scale for k in (2, 3, 6)),
               (values.mean() - last) / scale, (values.min() - last) / scale, (values.max() - last) / scale,
               np.log1p(count), np.log1p(recent.sum()), 0.0 if line is None else line[0] * 6 / scale,
               (values[-2] - last) / scale if count > 1 else 0.0, origin - hours[-2] if count > 1 else 48.0, origin]
        for name, (mean, std) in self.context.items():
            other = timeline.series.get(name)
            seen = 0 if other is None else int(np.searchsorted(other.hours, origin, side="right"))
            row += [(other.values[seen - 1] - mean) / std, origin - other.hours[seen - 1]] if seen else [np.nan] * 2
        return row + [timeline.static.get(name, np.nan) for name in STATIC]

    def _training_rows(self, train: list[Timeline], variable: str) -> tuple[np.ndarray, np.ndarray]:
        rows, changes = [], []
        for timeline in train:
            series = timeline.series.get(variable)
            for origin in TRAINING_ORIGINS:
                row = self._features(timeline, variable, origin)
                inside = None if row is None else (series.hours > origin) & (series.hours <= origin + BINS)
                if row is None or not inside.any():
                    continue
                for hour, value in zip(series.hours[inside], series.values[inside], strict=True):
                    rows.append([*row, int(np.ceil(hour - origin))])
                    changes.append((value - row[0]) / self.scales[variable])
        return np.array(rows, dtype=float), np.array(changes)

    def predict_trend(self, timelines: list[Timeline], origin: float, horizon: int) -> dict[str, np.ndarray]:
        forecasts = {}
        for variable in self.variables:
            forecast = np.full((len(timelines), horizon, 3), np.nan)
            rows = [self._features(t, variable, origin) for t in timelines]
            known = [i for i, row in enumerate(rows) if row is not None]
            if known:
                grid = np.array([[*rows[i], k] for i in known for k in range(1, BINS + 1)], dtype=float)
                change = self.models[variable].predict(grid[:, self.columns[variable]]).reshape(len(known), BINS)
                last = np.array([rows[i][0] for i in known])
                forecast[known, :BINS, 1] = last[:, None] + change * self.scales[variable]
            forecasts[variable] = forecast
        return forecasts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--test", choices=("fold0", "set-b"), default="fold0")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    timelines, _ = read_records(DATA / "set-a.tar.gz")
    outcomes = read_outcomes(DATA / "Outcomes-a.txt")
    labels = np.array([outcomes[t.patient_id] for t in timelines])
    if args.test == "fold0":
        held = _folds(labels, 5, 0) == 0
        train = [t for t, h in zip(timelines, held, strict=True) if not h]
        test = [t for t, h in zip(timelines, held, strict=True) if h]
        train_labels, test_labels = labels[~held], labels[held]
    else:
        train, train_labels = timelines, labels
        test, _ = read_records(DATA / "set-b.tar.gz")
        outcomes_b = read_outcomes(DATA / "Outcomes-b.txt")
        test_labels = np.array([outcomes_b[t.patient_id] for t in test])
    protocol = prepare_protocol(train, train_labels, test, test_labels)
    locf = LastObservation(protocol.variables)
    fallback = {v: rows[:, 1] for v, rows in method_at_targets(locf, test, protocol.targets).items()}
    methods = {"tabular": TabularForecaster(train, protocol.variables, protocol.scales), "locf": locf}
    mae = {
        name: trend_metrics(method_at_targets(method, test, protocol.targets), protocol.targets, protocol.scales,
                            fallback)["mae"]
        for name, method in methods.items()
    }
    result = {
        "test": args.test,
        "mae_6h": {name: scores["mean"][GOAL_HORIZON] for name, scores in mae.items()},
        "mae_6h_per_variable": {v: {name: mae[name][v][GOAL_HORIZON] for name in mae} for v in protocol.variables},
    }
    result["mae_6h_ratio_to_locf"] = result["mae_6h"]["tabular"] / result["mae_6h"]["locf"]
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for v, row in result["mae_6h_per_variable"].items():
        print(f"  {v:11s} tabular {row['tabular']:.4f}  LOCF {row['locf']:.4f}")
    print(f"{args.test}: MAE at 6 h tabular {result['mae_6h']['tabular']:.4f}, LOCF {result['mae_6h']['locf']:.4f}, "
          f"ratio {result['mae_6h_ratio_to_locf']:.4f}")


if __name__ == "__main__":
    main()
