"""Baselines of the ICU forecaster on PhysioNet 2012, tuned and trained on set-a, scored on set-b (issue 6).

Prints, with the time each took: forecast MAE at the 6-hour horizon averaged over the ten evaluation variables
(standardised by set-a's per-variable standard deviation; protocol of medstation/engine/forecaster/metrics.py) for
last observation carried forward, the per-patient linear trend, the per-variable last/mean blend tuned on set-a and
the best single blend weight (tuned on set-a at 6 h), and the mortality AUROC / AUPRC at hour 48 of the
gradient-boosting baseline. The issue's author measured LOCF 0.419, single-weight blend 0.410, per-variable blend
about 0.393, gradient boosting AUROC 0.860 / AUPRC 0.532.

``--raw-values`` runs the same again on records read without MedStation's plausible-range filter (only values
below 0 missing), the reading under which the author's figures are reproduced (see benchmarks/README.md).

    .venv/bin/python benchmarks/forecast_baselines.py [--raw-values] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tarfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from medstation.core.timeline import STATIC_VARIABLES, Timeline, TimeSeries
from medstation.engine.forecaster.baselines import last_and_mean
from medstation.engine.forecaster.evaluation import GOAL_HORIZON, ORIGINS, evaluate_baselines, prepare_protocol
from medstation.engine.forecaster.metrics import collect_targets, training_scales
from medstation.io.timelines.physionet import read_outcomes, read_records

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "physionet2012"
SINGLE_GRID = np.round(np.linspace(0.0, 1.0, 21), 2)


def read_raw_records(archive: Path) -> list[Timeline]:
    """Every record of a PhysioNet 2012 archive with all values kept except those below 0 (no range filter)."""
    timelines = []
    with tarfile.open(archive) as tar:
        for member in tar:
            if not (member.isfile() and member.name.endswith(".txt")):
                continue
            observed: dict[str, tuple[list, list]] = defaultdict(lambda: ([], []))
            static, patient = {}, member.name
            for line in tar.extractfile(member).read().decode("utf-8").splitlines()[1:]:
                stamp, name, raw = line.strip().split(",")
                hours, minutes = stamp.split(":")
                hour, value = int(hours) + int(minutes) / 60.0, float(raw)
                if name == "RecordID":
                    patient = str(int(value))
                elif name in STATIC_VARIABLES and name != "Weight" and hour == 0.0:
                    static[name] = value
                elif value >= 0:
                    observed[name][0].append(hour)
                    observed[name][1].append(value)
            series = {name: TimeSeries(name, h, v) for name, (h, v) in observed.items()}
            timelines.append(Timeline(patient, static, series))
    return timelines


def single_blend_weight(train: list[Timeline], variables: tuple[str, ...], horizon: int) -> float:
    """The one weight for every variable with the lowest standardised MAE at ``horizon``, averaged over variables."""
    scales = training_scales(train, variables)
    errors = np.zeros(SINGLE_GRID.size)
    for variable in variables:
        parts = []
        for origin in ORIGINS:
            targets = collect_targets(train, variable, origin, horizon)
            last, mean = last_and_mean(train, variable, origin)
            parts.append((last[targets.patient], mean[targets.patient], targets.value))
        last, mean, value = (np.concatenate(column) for column in zip(*parts, strict=True))
        errors += [np.mean(np.abs(w * last + (1 - w) * mean - value)) / scales[variable] for w in SINGLE_GRID]
    return float(SINGLE_GRID[int(np.argmin(errors))])


def measure(train, train_labels, test, test_labels) -> dict:
    started = time.perf_counter()
    protocol = prepare_protocol(train, train_labels, test, test_labels)
    baselines, _ = evaluate_baselines(protocol, train, test)
    seconds = time.perf_counter() - started
    weight = single_blend_weight(train, protocol.variables, int(GOAL_HORIZON))
    single = []
    for variable in protocol.variables:
        targets = protocol.targets[variable]
        rows = [last_and_mean(test, variable, origin) for origin in ORIGINS]
        last = np.concatenate([r[0][t.patient] for r, t in zip(rows, targets, strict=True)])
        mean = np.concatenate([r[1][t.patient] for r, t in zip(rows, targets, strict=True)])
        bins = np.concatenate([t.bin for t in targets])
        value = np.concatenate([t.value for t in targets])
        within = bins <= int(GOAL_HORIZON)
        blend = weight * last + (1 - weight) * mean
        single.append(np.mean(np.abs(blend - value)[within]) / protocol.scales[variable])
    h = GOAL_HORIZON
    return {
        "mae_6h": {
            "locf": baselines["locf"]["mae"]["mean"][h],
            "linear": baselines["linear"]["mae"]["mean"][h],
            "blend_single_weight": float(np.mean(single)),
            "blend_per_variable": baselines["blend"]["mae"]["mean"][h],
        },
        "mae_6h_per_variable": {
            name: {v: baselines[name]["mae"][v][h] for v in protocol.variables} for name in ("locf", "linear", "blend")
        },
        "single_weight": weight,
        "blend_weights": baselines["blend"]["weights"],
        "gbm": {k: baselines["gbm"][k] for k in ("mortality_auroc", "mortality_auprc", "ece")},
        "gbm_subgroup_gaps": {k: v["largest_gap"] for k, v in baselines["gbm"]["subgroups"].items()},
        "scales": protocol.scales,
        "targets": sum(protocol.summary()["targets"].values()),
        "seconds": seconds,
    }


def show(title: str, result: dict) -> None:
    mae, gbm = result["mae_6h"], result["gbm"]
    print(f"\n{title} ({result['targets']} targets; protocol + baselines {result['seconds']:.1f} s)")
    print("  MAE at 6 h, mean of 10 variables (standardised):")
    print(f"    LOCF {mae['locf']:.4f}   linear trend {mae['linear']:.4f}   "
          f"blend single w={result['single_weight']:.2f} {mae['blend_single_weight']:.4f}   "
          f"blend per variable {mae['blend_per_variable']:.4f}")
    print(f"  gradient boosting at 48 h: AUROC {gbm['mortality_auroc']:.4f}  AUPRC {gbm['mortality_auprc']:.4f}  "
          f"ECE {gbm['ece']:.4f}")
    print("  blend weights: " + ", ".join(f"{k} {v:.2f}" for k, v in result["blend_weights"].items()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="folder with set-a/set-b archives and outcomes")
    parser.add_argument("--raw-values", action="store_true", help="also run on records without the range filter")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args()
    started = time.perf_counter()
    train, _ = read_records(args.data / "set-a.tar.gz")
    test, _ = read_records(args.data / "set-b.tar.gz")
    train_labels, test_labels = read_outcomes(args.data / "Outcomes-a.txt"), read_outcomes(args.data / "Outcomes-b.txt")
    print(f"read set-a and set-b in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    results = {"medstation_reader": measure(train, train_labels, test, test_labels)}
    if args.raw_values:
        raw_train, raw_test = read_raw_records(args.data / "set-a.tar.gz"), read_raw_records(args.data / "set-b.tar.gz")
        results["raw_values"] = measure(raw_train, train_labels, raw_test, test_labels)
    if args.json:
        print(json.dumps(results, indent=1))
    else:
        show("set-a -> set-b, records as MedStation reads them", results["medstation_reader"])
        if "raw_values" in results:
            show("set-a -> set-b, raw values (only < 0 missing)", results["raw_values"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
