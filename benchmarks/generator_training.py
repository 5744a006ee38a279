"""GAN training time on CPU: one epoch of the shipped ``cxr-gan`` recipe, per thread count, and the whole recipe.

Issue 7's goal: training the default model to its goals within 15 minutes on the 2-core CPU. This script times
``--epochs`` epochs (default 1) of :func:`medstation.engine.generator.training.fit_gan` with the shipped recipe on
the PneumoniaMNIST train split (4708 images, 73 steps of 64), once per thread count in ``--threads``, and reports
wall-clock and CPU seconds per epoch and the recipe's epochs projected from them. It then reads what the shipped
bundle's own training took (``training.seconds`` and ``training.cpu_seconds`` in its metadata). The load average
is printed before and after, since the machine is shared: CPU seconds / 2 is what the work takes on two idle cores
when both threads are kept busy.

    python benchmarks/generator_training.py [--threads 1,2] [--epochs N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from pathlib import Path

import torch

from medstation.engine.classifier.data import load_npz
from medstation.engine.generator.model import load_generator
from medstation.engine.generator.training import GeneratorRecipe, fit_gan, prepare_training_images

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT / ".." / "shared" / "data" / "medmnist" / "pneumoniamnist.npz"
GOAL_S = 15 * 60


def time_epochs(images, labels: list[str], recipe: GeneratorRecipe, threads: int) -> dict[str, float]:
    torch.set_num_threads(threads)
    started, cpu_started = time.monotonic(), time.process_time()
    fit_gan(images, labels, recipe)
    wall, cpu = time.monotonic() - started, time.process_time() - cpu_started
    return {"threads": threads, "epochs": recipe.epochs, "wall_s_per_epoch": wall / recipe.epochs,
            "cpu_s_per_epoch": cpu / recipe.epochs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--model", default="cxr-gan")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    generator = load_generator(args.model, "cpu")
    shipped = generator.bundle.metadata.document["training"]
    recipe_values = dict(shipped["recipe"], betas=tuple(shipped["recipe"]["betas"]), spatial_size=None)
    recipe = GeneratorRecipe(**recipe_values)
    labels = generator.labels
    data = load_npz(args.data, labels).split("train")
    images = prepare_training_images(data.images, data.labels, None, args.data)
    load_before = os.getloadavg()[0]
    rows = [time_epochs(images, labels, replace(recipe, epochs=args.epochs), int(n)) for n in args.threads.split(",")]
    for row in rows:
        row["projected_recipe_wall_s"] = row["wall_s_per_epoch"] * recipe.epochs
        row["projected_recipe_cpu_s"] = row["cpu_s_per_epoch"] * recipe.epochs
    report = {
        "recipe_epochs": recipe.epochs,
        "steps_per_epoch": len(images.images) // recipe.batch_size,
        "measured": rows,
        "shipped_training": {key: shipped[key] for key in ("seconds", "cpu_seconds", "threads", "epochs_run")},
        "load_average_before_after": [load_before, os.getloadavg()[0]],
        "cores": os.cpu_count(),
        "goal_s": GOAL_S,
    }
    if args.json:
        print(json.dumps(report))
        return
    print(f"recipe: {recipe.epochs} epochs of {report['steps_per_epoch']} steps; load average "
          f"{load_before:.1f} -> {report['load_average_before_after'][1]:.1f} on {os.cpu_count()} cores")
    for row in rows:
        print(f"  {row['threads']} thread(s): {row['wall_s_per_epoch']:.1f} s/epoch wall, "
              f"{row['cpu_s_per_epoch']:.1f} s/epoch CPU; recipe projected {row['projected_recipe_wall_s'] / 60:.1f} "
              f"min wall, {row['projected_recipe_cpu_s'] / 60:.1f} CPU-min")
    trained = report["shipped_training"]
    print(f"  shipped bundle: {trained['seconds'] / 60:.1f} min wall, {trained['cpu_seconds'] / 60:.1f} CPU-min "
          f"({trained['threads']} thread(s), {trained['epochs_run']} epochs); goal {GOAL_S / 60:.0f} min")


if __name__ == "__main__":
    main()
