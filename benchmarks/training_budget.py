"""Are the classifier's training defaults enough for small data sets? The default budget against five times it.

On stratified subsets of PneumoniaMNIST's training split (``--sizes``, default 500 and 1,000 images; the
validation and test splits whole), ``medstation train classifier`` is run as a user would, once with the defaults
and once with ``--steps`` five times the default budget, and the two test AUCs are compared. Goal: the default's
test AUC within 0.01 of the longer run's (the defaults do not under-train). ``--full`` also trains on the whole
training split with the defaults, to compare with the shipped ``pneumonia-cxr-resnet18`` (trained with the earlier
default of six epochs, 222 steps).

    python benchmarks/training_budget.py [--sizes 500,1000] [--factor 5] [--full] [--json]
    python benchmarks/training_budget.py --sizes "" --full     (the full-data reproduction alone)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from medstation.engine.bundles import find_bundle
from medstation.engine.classifier.recipe import TrainingRecipe

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data" / "medmnist" / "pneumoniamnist.npz"
GOAL_AUC_GAP = 0.01


def stratified_subset(archive: Path, size: int, out: Path, seed: int = 0) -> Path:
    """A copy of ``archive`` whose training split keeps ``size`` images in the split's class proportions."""
    with np.load(archive) as arrays:
        data = {key: arrays[key] for key in arrays.files}
    labels = data["train_labels"].ravel()
    random = np.random.default_rng(seed)
    picked = []
    for value in np.unique(labels):
        members = np.flatnonzero(labels == value)
        picked.append(random.choice(members, round(size * members.size / labels.size), replace=False))
    keep = np.sort(np.concatenate(picked))
    data["train_images"], data["train_labels"] = data["train_images"][keep], data["train_labels"][keep]
    np.savez(out, **data)
    return out


def train(data: Path, out: Path, extra: list[str]) -> dict:
    """``medstation train classifier`` as a subprocess; its JSON, the wall time and the test AUC."""
    command = [sys.executable, "-m", "medstation", "train", "classifier", "--data", str(data), "--out", str(out),
               "--labels", "normal,pneumonia", "--json", *extra]
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    document = json.loads(result.stdout)
    return {"seconds": time.perf_counter() - started, "test_auc": document["metrics"]["test"]["auc"],
            "steps_run": document["training"]["steps_run"], "best_step": document["training"]["best_step"],
            "stopped": document["training"]["stopped"], "still_improving": document["training"]["still_improving"],
            "warning": result.stderr.strip()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--sizes", default="500,1000")
    parser.add_argument("--factor", type=int, default=5)
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    budget = TrainingRecipe().steps
    results: dict = {"default_steps": budget, "factor": args.factor, "subsets": {}}
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        for size in (int(text) for text in args.sizes.split(",") if text.strip()):
            subset = stratified_subset(Path(args.data), size, work / f"subset-{size}.npz")
            default = train(subset, work / f"default-{size}", [])
            longer = train(subset, work / f"longer-{size}", ["--steps", str(budget * args.factor)])
            gap = longer["test_auc"] - default["test_auc"]
            results["subsets"][size] = {"default": default, "longer": longer, "auc_gap": gap,
                                        "goal_met": gap <= GOAL_AUC_GAP}
            if not args.json:
                print(f"{size} images: default test AUC {default['test_auc']:.4f} ({default['steps_run']} steps, "
                      f"{default['stopped']}, {default['seconds']:.0f} s); {args.factor}x budget "
                      f"{longer['test_auc']:.4f} ({longer['steps_run']} steps, {longer['stopped']}, "
                      f"{longer['seconds']:.0f} s); gap {gap:+.4f} (goal <= {GOAL_AUC_GAP})", flush=True)
        if args.full:
            full = train(Path(args.data), work / "full", [])
            shipped = find_bundle("pneumonia-cxr-resnet18").metadata.metrics["test"]["auc"]
            results["full"] = {**full, "shipped_test_auc": shipped}
            if not args.json:
                print(f"full training split: default test AUC {full['test_auc']:.4f} ({full['steps_run']} steps, "
                      f"{full['seconds']:.0f} s); shipped model {shipped:.4f}")
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
