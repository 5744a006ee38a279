"""``medstation train generator --nproc-per-node N`` on this machine: the time of one and two CPU workers, and how
alike their generators are (issue 21, "Performance": scaling efficiency of torchrun with 2 CPU processes).

Trains the shipped recipe (its networks, latent size and batch of 64; ``--epochs`` epochs, no evaluation after
training) on a random subset of PneumoniaMNIST's training images (``--train``) three ways, each a whole
``medstation`` process: without torchrun, with ``--nproc-per-node 1`` and with ``--nproc-per-node 2``, and once more
on one worker with another seed. Prints, for each, the whole process's wall time and the training loop's own
(``training.seconds`` of the bundle: the epochs, without start-up, data reading and writing), the scaling efficiency
``t1 / (2 * t2)`` of both (1.0 would be perfect; torchrun gives each worker one thread, where the run without
torchrun uses every core), and the largest difference between the samples (seed 3, 64 images, values 0-1) of the 1-
and 2-worker generators beside that between two seeds. The load average (1 minute) is printed with each time.

    .venv/bin/python benchmarks/generator_torchrun.py [--train N] [--epochs E] [--json]
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


def _subset(source: Path, train: int, path: Path) -> Path:
    random = np.random.default_rng(0)
    arrays = {}
    with np.load(source) as archive:
        for split, count in (("train", train), ("val", 64), ("test", 64)):
            picked = random.choice(len(archive[f"{split}_labels"]), count, replace=False)
            arrays[f"{split}_images"] = archive[f"{split}_images"][picked]
            arrays[f"{split}_labels"] = archive[f"{split}_labels"][picked]
    np.savez(path, **arrays)
    return path


def _samples(bundle: Path) -> np.ndarray:
    from medstation.engine.generator import load_generator

    return load_generator(str(bundle)).sample(64, seed=3).images.astype(np.float64)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--train", type=int, default=2048)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    results: dict = {"train": args.train, "epochs": args.epochs, "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        data = _subset(args.data, args.train, folder / "subset.npz")
        common = [sys.executable, "-m", "medstation", "train", "generator", "--data", str(data), "--labels",
                  "normal,pneumonia", "--epochs", str(args.epochs), "--no-evaluation", "--json"]
        results.update(timed_runs(common, folder, WITH_OTHER_SEED, lambda training: {
            "training_seconds": round(training["seconds"], 2),
            "training_cpu_seconds": round(training["cpu_seconds"], 2), "epochs_run": training["epochs_run"]}))
        results.update(efficiencies(results, ("seconds", "training_seconds")))
        one, two, seed = (_samples(folder / name) for name in ("workers_1", "workers_2", "workers_1_seed_1"))
        results["sample_max_difference_1_vs_2_workers"] = float(np.abs(one - two).max())
        results["sample_max_difference_seed_0_vs_1"] = float(np.abs(one - seed).max())
    print_results(results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
