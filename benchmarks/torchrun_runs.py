"""What the torchrun benchmarks share: one ``medstation train`` command run as a whole process without torchrun and
on one and two workers (and more variants), each timed with the load average (1 minute) around it, the scaling
efficiency ``t1 / (2 * t2)``, and the printout.

Imported by ``classifier_torchrun.py``, ``forecaster_torchrun.py`` and ``generator_torchrun.py`` (run from this
folder, which Python puts first on the path).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

PLAIN_AND_WORKERS = (("plain", []), ("workers_1", ["--nproc-per-node", "1"]),
                     ("workers_2", ["--nproc-per-node", "2"]))
"""Without torchrun, on one worker and on two."""
WITH_OTHER_SEED = (*PLAIN_AND_WORKERS, ("workers_1_seed_1", ["--nproc-per-node", "1", "--seed", "1"]))
"""The same, and one worker with another seed: how far apart two models of the same recipe are anyway."""


def timed_runs(command: Sequence[str], folder: Path, runs: Sequence[tuple[str, list[str]]],
               training: Callable[[dict], dict] | None = None) -> dict:
    """Run ``command --out FOLDER/NAME EXTRA...`` for each ``(NAME, EXTRA)``: its wall seconds, the load average
    before and after, and ``training(the command's --json summary)`` where given."""
    results = {}
    for name, extra in runs:
        load = os.getloadavg()[0]
        started = time.perf_counter()
        run = subprocess.run([*command, "--out", str(folder / name), *extra], capture_output=True, text=True)
        if run.returncode:
            raise SystemExit(f"{name} failed: {run.stderr.strip().splitlines()[-1]}")
        results[name] = {"seconds": round(time.perf_counter() - started, 2)}
        if training is not None:
            results[name].update(training(json.loads(run.stdout)["training"]))
        results[name].update(load_before=round(load, 2), load_after=round(os.getloadavg()[0], 2))
    return results


def efficiencies(results: dict, measures: Sequence[str] = ("seconds",)) -> dict:
    """Per measure, the scaling efficiency of two workers ``t1 / (2 * t2)`` and their speed-up over the plain run."""
    found = {}
    for measure in measures:
        found[f"efficiency_2_workers_{measure}"] = round(
            results["workers_1"][measure] / (2 * results["workers_2"][measure]), 3)
        found[f"speedup_2_workers_over_plain_{measure}"] = round(
            results["plain"][measure] / results["workers_2"][measure], 3)
    return found


def print_results(results: dict, as_json: bool) -> None:
    """One JSON object, or a line per figure."""
    if as_json:
        print(json.dumps(results, indent=1))
        return
    for name, value in results.items():
        print(f"{name:42s} {json.dumps(value)}")
