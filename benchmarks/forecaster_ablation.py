"""Ablations of the forecaster's training recipe on set-a alone: one member learns from folds 1-4 and is scored on
fold 0 (800 stays), so recipe choices are made without looking at set-b.

Prints the held-out fold's forecast MAE at 6 h per evaluation variable for the member and for last observation
carried forward (protocol of medstation/engine/forecaster/metrics.py, scales from folds 1-4), their ratio, and the
mortality AUROC at hour 48. ``--set`` changes a field of ``ForecasterRecipe``, e.g. ``--set balance_variables=false``
or ``--set risk_last_hour_share=0.1``. A run takes about 4 minutes on one thread.

    .venv/bin/python benchmarks/forecaster_ablation.py [--set FIELD=VALUE ...] [--threads N] [--json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import torch

from medstation.engine.forecaster.baselines import LastObservation
from medstation.engine.forecaster.evaluation import GOAL_HORIZON, method_at_targets, prepare_protocol, trend_metrics
from medstation.engine.forecaster.model import forecaster_from_trained
from medstation.engine.forecaster.training import ForecasterRecipe, _folds, train_forecaster
from medstation.engine.metrics import roc_auc
from medstation.io.timelines.physionet import read_outcomes, read_records

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "physionet2012"


def recipe_with(settings: list[str]) -> ForecasterRecipe:
    """The default recipe with ``FIELD=VALUE`` changes, one member (trained on folds 1-4)."""
    types = {field.name: field.type for field in dataclasses.fields(ForecasterRecipe)}
    changes: dict = {"members": 1}
    for setting in settings:
        name, _, text = setting.partition("=")
        if name not in types:
            raise SystemExit(f"ForecasterRecipe has no field {name!r}; fields: {', '.join(types)}")
        convert = {"bool": lambda value: value.lower() in ("1", "true", "yes"), "int": int}.get(types[name], float)
        changes[name] = convert(text)
    return dataclasses.replace(ForecasterRecipe(), **changes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    recipe = recipe_with(args.set)

    timelines, _ = read_records(DATA / "set-a.tar.gz")
    outcomes = read_outcomes(DATA / "Outcomes-a.txt")
    labels = np.array([outcomes[t.patient_id] for t in timelines])
    held = _folds(labels, recipe.folds, recipe.seed) == 0
    train = [t for t, h in zip(timelines, held, strict=True) if not h]
    test = [t for t, h in zip(timelines, held, strict=True) if h]

    started = time.perf_counter()
    trained = train_forecaster(timelines, outcomes, recipe)
    seconds = time.perf_counter() - started
    model = forecaster_from_trained(trained, "ablation")
    protocol = prepare_protocol(train, labels[~held], test, labels[held])
    locf = LastObservation(protocol.variables)
    locf_rows = method_at_targets(locf, test, protocol.targets)
    fallback = {v: rows[:, 1] for v, rows in locf_rows.items()}
    scored = {
        name: trend_metrics(method_at_targets(method, test, protocol.targets), protocol.targets, protocol.scales,
                            fallback)["mae"]
        for name, method in (("member", model), ("locf", locf))
    }
    result = {
        "recipe": dataclasses.asdict(recipe),
        "held_out": "set-a fold 0",
        "patients": int(held.sum()),
        "mae_6h": {name: mae["mean"][GOAL_HORIZON] for name, mae in scored.items()},
        "mae_6h_per_variable": {
            v: {name: mae[v][GOAL_HORIZON] for name, mae in scored.items()} for v in protocol.variables
        },
        "mortality_auroc_48h": roc_auc(labels[held], model.predict_risk(test, 48.0)),
        "training_seconds": round(seconds, 1),
    }
    result["mae_6h_ratio_to_locf"] = result["mae_6h"]["member"] / result["mae_6h"]["locf"]
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"recipe changes: {args.set or 'none'}; {result['patients']} held-out stays of set-a fold 0")
    for v, row in result["mae_6h_per_variable"].items():
        print(f"  {v:11s} member {row['member']:.4f}  LOCF {row['locf']:.4f}")
    print(f"MAE at 6 h: member {result['mae_6h']['member']:.4f}, LOCF {result['mae_6h']['locf']:.4f}, ratio "
          f"{result['mae_6h_ratio_to_locf']:.4f}; AUROC at 48 h {result['mortality_auroc_48h']:.4f}; "
          f"trained in {seconds:.0f} s")


if __name__ == "__main__":
    main()
