"""``medstation train classifier --nproc-per-node N`` on this machine: the time of one and two CPU workers, and how
alike their classifiers are (issue 21, "Performance": scaling efficiency of torchrun with 2 CPU processes).

Trains the shipped recipe (its network and batch of 128; ``--steps`` global optimiser steps) on a random
subset of PneumoniaMNIST (``--train`` training and ``--val`` validation images) three ways, each a whole
``medstation`` process: without torchrun, with ``--nproc-per-node 1`` and with ``--nproc-per-node 2``. Prints, for
each, the whole process's wall time and the training loop's own (``training.seconds`` of the bundle: the optimiser
steps and validation scorings, without start-up, data reading, calibration and writing), the scaling efficiency
``t1 / (2 * t2)`` of both (1.0 would be perfect; torchrun gives each worker one thread, where the run without
torchrun uses every core), and the largest difference between the 1- and 2-worker classifiers' logits on the
validation images beside that between two seeds. The load average (1 minute) is printed with each time.

    .venv/bin/python benchmarks/classifier_torchrun.py [--train N] [--val N] [--steps S] [--json]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
from torchrun_runs import WITH_OTHER_SEED, efficiencies, print_results, timed_runs

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "medmnist" / "pneumoniamnist.npz"


def _subset(source: Path, train: int, val: int, path: Path) -> Path:
    random = np.random.default_rng(0)
    arrays = {}
    with np.load(source) as archive:
        for split, count in (("train", train), ("val", val)):
            picked = random.choice(len(archive[f"{split}_labels"]), count, replace=False)
            arrays[f"{split}_images"] = archive[f"{split}_images"][picked]
            arrays[f"{split}_labels"] = archive[f"{split}_labels"][picked]
    np.savez(path, **arrays)
    return path


def _logits(bundle: Path, data: Path) -> np.ndarray:
    from medstation.engine.classifier import load_classifier, prepare_batch

    classifier = load_classifier(str(bundle))
    with np.load(data) as archive:
        inputs = [classifier.image_input(image) for image in archive["val_images"]]
    return classifier.logits(prepare_batch(inputs, classifier.input_spec))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--train", type=int, default=2048)
    parser.add_argument("--val", type=int, default=256)
    parser.add_argument("--steps", type=int, default=48)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    results: dict = {"train": args.train, "val": args.val, "steps": args.steps, "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        data = _subset(args.data, args.train, args.val, folder / "subset.npz")
        common = [sys.executable, "-m", "medstation", "train", "classifier", "--data", str(data), "--labels",
                  "normal,pneumonia", "--steps", str(args.steps), "--json"]
        results.update(timed_runs(common, folder, WITH_OTHER_SEED, lambda training: {
            "training_seconds": round(training["seconds"], 2), "steps_run": training["steps_run"]}))
        results.update(efficiencies(results, ("seconds", "training_seconds")))
        one, two, seed = (_logits(folder / name, data) for name in ("workers_1", "workers_2", "workers_1_seed_1"))
        results["logit_max_difference_1_vs_2_workers"] = float(np.abs(one - two).max())
        results["logit_max_difference_seed_0_vs_1"] = float(np.abs(one - seed).max())
    print_results(results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
