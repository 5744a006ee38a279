"""Sampling time of the shipped generator on CPU: ``Generator.sample(64)`` against the bare network call.

Issue 7's goal: sampling 64 images under 1 s. Measured, each as the median of ``--runs`` runs after one untimed
warm-up, the first two interleaved run by run:

- ``sample_64``: ``Generator.sample(64, seed=i)`` (latents, class draw, network, scaling to [0, 1], to numpy);
- ``bare_network_64``: the same network called directly on 64 latent vectors under ``torch.inference_mode()``, the
  plain PyTorch loop a user would write instead;
- ``load``: ``load_generator`` (bundle checks, sha256, weights-only load), once, in this process;
- ``generate_command_64``: the whole process ``python -m medstation generate --model M --n 64 --out DIR`` (imports,
  load, sampling and 64 marked PNGs written), a fresh output folder each run.

    python benchmarks/generator_sampling.py [--model NAME|DIR] [--runs N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from medstation.engine.generator.model import load_generator

GOAL_S = 1.0


def median_times(actions: dict, runs: int) -> dict[str, float]:
    """Median seconds of each action after one untimed warm-up, the actions interleaved run by run so that a change
    in machine load hits all of them alike."""
    times = {name: [] for name in actions}
    for action in actions.values():
        action(-1)
    for run in range(runs):
        for name, action in actions.items():
            started = time.perf_counter()
            action(run)
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="cxr-gan")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--command-runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    started = time.perf_counter()
    generator = load_generator(args.model, "cpu")
    load_s = time.perf_counter() - started
    latent_dim = int(generator.bundle.metadata.document["network"]["latent_dim"])
    classes = torch.from_numpy(np.arange(64) % len(generator.labels))

    def bare(run: int) -> None:
        with torch.inference_mode():
            generator.network(torch.randn(64, latent_dim), classes).numpy()

    figures = median_times({"sample_64_s": lambda run: generator.sample(64, seed=run + 1),
                            "bare_network_64_s": bare}, args.runs)
    figures["load_s"] = load_s
    with tempfile.TemporaryDirectory() as folder:
        def command(run: int) -> None:
            out = Path(folder) / f"run{run + 1}"
            subprocess.run([sys.executable, "-m", "medstation", "generate", "--model", args.model, "--n", "64",
                            "--seed", "1", "--out", str(out)], check=True, capture_output=True)

        figures.update(median_times({"generate_command_64_s": command}, args.command_runs))
    figures.update({"threads": torch.get_num_threads(), "load_average": os.getloadavg()[0], "goal_s": GOAL_S,
                    "met": figures["sample_64_s"] < GOAL_S})
    if args.json:
        print(json.dumps(figures))
        return
    print(f"sample(64): {figures['sample_64_s'] * 1000:.1f} ms (goal < {GOAL_S:.0f} s: "
          f"{'met' if figures['met'] else 'NOT met'}); bare network call {figures['bare_network_64_s'] * 1000:.1f} ms "
          f"(ratio {figures['sample_64_s'] / figures['bare_network_64_s']:.2f}); load {figures['load_s']:.2f} s; "
          f"whole 'medstation generate --n 64' process {figures['generate_command_64_s']:.2f} s; "
          f"{figures['threads']} threads, load average {figures['load_average']:.1f}")


if __name__ == "__main__":
    main()
