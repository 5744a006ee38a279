"""Forecaster speed on CPU: one patient's forecast, and one training epoch over set-a.

Issue 6's goals: a forecast for one patient under 20 ms on CPU, and a training epoch over set-a's 4000 stays under
60 s on 2 cores. The references are what a data scientist would run instead, in the same process: the
gradient-boosting mortality baseline (scikit-learn HistGradientBoostingClassifier on 48-hour summaries) scoring one
patient, and fitting it on all of set-a.

- ``forecast``: ``Forecaster.forecast`` (binning + ensemble + calibrated intervals, no explanation) for each of
  ``--patients`` set-b records, one at a time; median and 95th percentile in ms;
- ``forecast_explained``: the same with the top contributors (integrated gradients, 32 steps);
- ``gbm_one_patient``: summary features + ``predict_proba`` of the fitted baseline for one patient;
- ``epoch``: one pass of one ensemble member over all set-a stays (binning excluded), per thread count;
- ``gbm_fit``: fitting the baseline on set-a.

    python benchmarks/forecaster_timing.py [--model NAME|DIR] [--patients N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import numpy as np
import torch

from medstation.engine.forecaster.baselines import GradientBoostingMortality
from medstation.engine.forecaster.features import HOURS, carried_columns, input_size
from medstation.engine.forecaster.model import load_forecaster
from medstation.engine.forecaster.network import build_ensemble
from medstation.engine.forecaster.training import ForecasterRecipe, prepare, train_epoch
from medstation.io.timelines.physionet import read_outcomes, read_records

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "physionet2012")


def _times_ms(run, items) -> dict:
    times = []
    for item in items:
        started = time.perf_counter()
        run(item)
        times.append((time.perf_counter() - started) * 1000)
    return {"median_ms": statistics.median(times), "p95_ms": float(np.percentile(times, 95)), "n": len(times)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="icu-trend-lstm")
    parser.add_argument("--patients", type=int, default=100)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    train, _ = read_records(os.path.join(DATA, "set-a.tar.gz"))
    labels = read_outcomes(os.path.join(DATA, "Outcomes-a.txt"))
    test, _ = read_records(os.path.join(DATA, "set-b.tar.gz"))
    patients = test[: args.patients]
    model = load_forecaster(args.model)
    torch.set_num_threads(1)
    model.forecast(patients[0], explain=False)
    results = {
        "forecast": _times_ms(lambda t: model.forecast(t, explain=False), patients),
        "forecast_explained": _times_ms(model.forecast, patients[:20]),
    }
    gbm = GradientBoostingMortality()
    started = time.perf_counter()
    gbm.fit(train, np.array([labels[t.patient_id] for t in train]), HOURS)
    results["gbm_fit_s"] = time.perf_counter() - started
    results["gbm_one_patient"] = _times_ms(lambda t: gbm.predict_risk([t], HOURS), patients)

    recipe = ForecasterRecipe()
    inputs, targets, y = prepare(train, labels, model.normalisation)
    for threads in (1, 2):
        torch.set_num_threads(threads)
        member = build_ensemble(input_size(), carried_columns(), recipe.horizon, recipe.hidden, 1,
                                recipe.risk_models, recipe.dropout).members[0]
        optimiser = torch.optim.AdamW(member.parameters(), lr=recipe.learning_rate)
        generator = torch.Generator().manual_seed(0)
        started = time.perf_counter()
        train_epoch(member, optimiser, (inputs, targets, y), np.arange(len(y)), recipe, generator)
        results[f"epoch_s_threads_{threads}"] = time.perf_counter() - started
    results["ratio_forecast_vs_gbm_one_patient"] = (
        results["forecast"]["median_ms"] / results["gbm_one_patient"]["median_ms"]
    )
    results["ratio_epoch_vs_gbm_fit"] = results["epoch_s_threads_2"] / results["gbm_fit_s"]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for name, value in results.items():
        print(f"{name:36s} {value}")


if __name__ == "__main__":
    main()
