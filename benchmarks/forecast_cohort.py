"""``medstation forecast`` over a cohort: PhysioNet 2012 set-b's 4,000 stays (issue 21, "Performance").

Goals: the whole ``medstation forecast set-b.tar.gz --out RESULTS.jsonl`` process, contributors included, in at most
60 s on this 2-core machine; and the forecast without contributors at most 3x the time the gradient-boosting
mortality baseline (engine/forecaster/baselines.py, what a data scientist would run instead) takes to make its
features and score the same stays, both measured in this run, in this process, after reading.

Figures, each with the machine's load average (1 minute) when it was taken:

- ``process_contributors_s`` / ``process_no_contributors_s``: the command as a user runs it (a new process: start,
  imports, reading the archive, forecasting, writing the JSON Lines file), with and without ``--no-contributors``;
- ``process_no_contributors_in_process``: the same with ``--workers 0`` (everything in the command's one process);
- ``read_s``: reading the archive in this process (the floor the command approaches);
- ``forecast_no_contributors_s`` and ``forecast_contributors_s``: ``Forecaster.forecast_many`` over the stays read
  the way the command runs it, with its default worker processes (``workers``: on the CPU each bins its chunks and
  runs the network on them on one thread); ``forecast_no_contributors_in_process_s``: the same with ``workers=0``,
  everything in this process on torch's threads (``--in-process-contributors`` adds the same with contributors,
  ``forecast_contributors_in_process_s``: minutes on a loaded machine); each with ``*_cpu_s``, the CPU seconds of
  this process and its worker processes together;
- ``gbm_features_scoring_s``: ``GradientBoostingMortality.predict_risk`` (summary features + ``predict_proba``) over
  the same stays, the baseline fitted on set-a beforehand (``gbm_fit_s``, not compared);
- ``one_at_a_time_ms``: ``Forecaster.forecast`` for ``--patients`` stays one by one (the shape of the command before
  batching), per patient, with contributors; ``one_at_a_time_extrapolated_s`` for all stays;
- ``recurrence``: the floor of any fp32 forecast with the shipped ensemble: only its LSTM layers (every member's
  trend and risk trunks) run over the same stays, binned and batched as the forecast does them, inputs projected
  beforehand; its multiply-adds, the rate reached, and one large matrix product's rate on this machine for scale.

``--accuracy`` also compares the integrated gradients the forecaster uses (8 points per path at step middles) and
the 32-point trapezoid rule used before against a 64-point Gauss-Legendre reference on 256 stays (the figures in
engine/forecaster/attribution.py).

    .venv/bin/python benchmarks/forecast_cohort.py [--patients N] [--accuracy] [--in-process-contributors] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "physionet2012"


def load() -> float:
    return round(os.getloadavg()[0], 2)


def timed(run) -> tuple[float, object]:
    started = time.perf_counter()
    value = run()
    return time.perf_counter() - started, value


def cpu_seconds() -> float:
    """CPU seconds of this process and of its children that have ended (the DataLoader's workers)."""
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measured(results: dict, name: str, run) -> None:
    """``run``'s seconds as ``NAME_s``, its CPU seconds (this process and its workers) as ``NAME_cpu_s``, the load
    before and after."""
    results[f"{name}_load"] = load()
    cpu = cpu_seconds()
    results[f"{name}_s"], _ = timed(run)
    results[f"{name}_cpu_s"] = cpu_seconds() - cpu
    results[f"{name}_load_after"] = load()


def process_seconds(archive: Path, *options: str) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "results.jsonl"
        command = [sys.executable, "-m", "medstation", "forecast", str(archive), "--out", str(out), *options]
        before, cpu = load(), cpu_seconds()
        seconds, result = timed(lambda: subprocess.run(command, capture_output=True, text=True))
        cpu = cpu_seconds() - cpu
        if result.returncode:
            raise SystemExit(f"{' '.join(command)} failed: {result.stderr.strip().splitlines()[-1]}")
        rows = sum(1 for _ in out.open())
    return {"seconds": seconds, "cpu_s": cpu, "rows": rows, "load_before": before, "load_after": load()}


def attribution_accuracy(model, timelines) -> dict:
    """Per method, against a 64-point Gauss-Legendre reference: the median relative error of the per-variable
    totals, the mean completeness gap, and how often the top five variables are the same set, in the same order."""
    from medstation.engine.forecaster.attribution import METHOD, STEPS, risk_attributions
    from medstation.engine.forecaster.cohort import ForecastTask
    from medstation.engine.forecaster.features import INPUT_VARIABLES, PER_VARIABLE

    rng = np.random.default_rng(0)
    chosen = [timelines[i] for i in rng.choice(len(timelines), 256, replace=False)]
    batches = ForecastTask(model).prepare(chosen).payload
    width = len(INPUT_VARIABLES) * PER_VARIABLE

    def totals(steps: int, method: str) -> tuple[np.ndarray, float]:
        parts, gaps = [], []
        for batch in batches:
            a = risk_attributions(model.ensemble, batch.inputs, batch.baselines, batch.lasts, steps, method)
            parts.append(a[:, :, :width].reshape(len(a), a.shape[1], len(INPUT_VARIABLES), PER_VARIABLE).sum((1, 3)))
            gaps.append(a.sum((1, 2)))
        return np.concatenate(parts), np.concatenate(gaps)

    reference, reference_sums = totals(64, "gausslegendre")
    results = {}
    for name, (steps, method) in {"used": (STEPS, METHOD), "before": (32, "riemann_trapezoid")}.items():
        found, sums = totals(steps, method)
        top = [np.argsort(-np.abs(r), kind="stable")[:5] for r in found]
        truth = [np.argsort(-np.abs(r), kind="stable")[:5] for r in reference]
        results[name] = {
            "steps": steps,
            "method": method,
            "median_relative_error": float(np.median(np.abs(found - reference).sum(1) / np.abs(reference).sum(1))),
            "mean_sum_difference_from_reference": float(np.mean(np.abs(sums - reference_sums))),
            "top5_same_set": float(np.mean([set(a) == set(b) for a, b in zip(top, truth, strict=True)])),
            "top5_same_order": float(np.mean([list(a) == list(b) for a, b in zip(top, truth, strict=True)])),
        }
    return results


def recurrence_floor(model, timelines) -> dict:
    """The ensemble's LSTM layers alone over ``timelines`` in forecast batches: seconds, GFLOP and GFLOP/s."""
    import torch

    from medstation.engine.forecaster.cohort import ForecastTask

    trunks = [trunk for member in model.ensemble.members
              for trunk in [member.trend.trunk, *(risk.trunk for risk in member.risk.models)]]
    batches = ForecastTask(model, explain=False).prepare(timelines).payload
    flops, seconds = 0.0, 0.0
    with torch.inference_mode():
        for batch in batches:
            inputs = torch.from_numpy(batch.inputs)
            projected = [trunk.project(inputs) for trunk in trunks]
            started = time.perf_counter()
            for trunk, x in zip(trunks, projected, strict=True):
                trunk.lstm(x)
            seconds += time.perf_counter() - started
            for trunk, x in zip(trunks, projected, strict=True):
                hidden = trunk.lstm.hidden_size
                flops += 2 * 4 * hidden * (x.shape[-1] + hidden) * x.shape[0] * x.shape[1]
        a = torch.randn(2048, 2048)
        a @ a
        started = time.perf_counter()
        for _ in range(5):
            a @ a
        gemm = 5 * 2 * 2048**3 / (time.perf_counter() - started)
    return {"seconds": seconds, "gflop": flops / 1e9, "gflop_per_s": flops / seconds / 1e9,
            "gemm_2048_gflop_per_s": gemm / 1e9, "at_gemm_rate_s": flops / gemm}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="folder with set-a/set-b archives and outcomes")
    parser.add_argument("--patients", type=int, default=50, help="stays forecast one at a time for comparison")
    parser.add_argument("--accuracy", action="store_true", help="also compare the attribution methods")
    parser.add_argument("--in-process-contributors", action="store_true",
                        help="also forecast with contributors in this process alone (workers=0)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    archive = args.data / "set-b.tar.gz"

    from medstation.engine.batches import default_workers
    from medstation.engine.forecaster import load_forecaster
    from medstation.engine.forecaster.baselines import GradientBoostingMortality
    from medstation.engine.forecaster.evaluation import RISK_HOUR
    from medstation.io.timelines.physionet import read_outcomes, read_records

    results: dict = {"cpus": os.cpu_count()}
    results["process_contributors"] = process_seconds(archive)
    results["process_no_contributors"] = process_seconds(archive, "--no-contributors")
    results["process_no_contributors_in_process"] = process_seconds(archive, "--no-contributors", "--workers", "0")

    train, _ = read_records(args.data / "set-a.tar.gz")
    labels = read_outcomes(args.data / "Outcomes-a.txt")
    results["read_load"] = load()
    results["read_s"], (test, _) = timed(lambda: read_records(archive))
    gbm = GradientBoostingMortality()
    results["gbm_fit_s"], _ = timed(lambda: gbm.fit(train, [labels[t.patient_id] for t in train], RISK_HOUR))
    model = load_forecaster()
    usable = [t for t in test if t.series]
    model.forecast_many(usable[:8])
    workers = default_workers()
    results["workers"] = workers
    results["compare_load"] = load()
    results["gbm_features_scoring_s"], _ = timed(lambda: gbm.predict_risk(usable, RISK_HOUR))
    measured(results, "forecast_no_contributors", lambda: model.forecast_many(usable, explain=False, workers=workers))
    results["gbm_features_scoring_again_s"], _ = timed(lambda: gbm.predict_risk(usable, RISK_HOUR))
    measured(results, "forecast_no_contributors_in_process", lambda: model.forecast_many(usable, explain=False))
    results["gbm_features_scoring_third_s"], _ = timed(lambda: gbm.predict_risk(usable, RISK_HOUR))
    results["compare_load_after"] = load()
    gbm_seconds = min(results[f"gbm_features_scoring{n}_s"] for n in ("", "_again", "_third"))
    results["ratio_no_contributors_vs_gbm"] = results["forecast_no_contributors_s"] / gbm_seconds
    results["ratio_no_contributors_in_process_vs_gbm"] = results["forecast_no_contributors_in_process_s"] / gbm_seconds
    results["recurrence_load"] = load()
    results["recurrence"] = recurrence_floor(model, usable)
    results["ratio_recurrence_vs_gbm"] = results["recurrence"]["seconds"] / gbm_seconds
    results["ratio_recurrence_at_gemm_rate_vs_gbm"] = results["recurrence"]["at_gemm_rate_s"] / gbm_seconds
    measured(results, "forecast_contributors", lambda: model.forecast_many(usable, workers=workers))
    if args.in_process_contributors:
        measured(results, "forecast_contributors_in_process", lambda: model.forecast_many(usable))
    one, _ = timed(lambda: [model.forecast(t) for t in usable[: args.patients]])
    results["one_at_a_time_ms"] = 1000 * one / args.patients
    results["one_at_a_time_extrapolated_s"] = one / args.patients * len(usable)
    results["one_at_a_time_load"] = load()
    results["stays"] = len(usable)
    if args.accuracy:
        results["attribution_accuracy"] = attribution_accuracy(model, usable)
    if args.json:
        print(json.dumps(results, indent=1))
        return 0
    for name, value in results.items():
        print(f"{name:36s} {json.dumps(value)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
