"""How long the generator panel's job freezes the GUI thread, and how long it takes (issue 7, GUI).

A 10 ms QTimer ticks on the GUI thread while ``GeneratorPanel.generate`` samples N images with the shipped
``cxr-gan``, scores them with the shipped classifier and draws the labelled thumbnails in a ``ui.jobs`` worker;
the largest gap between ticks is the stall. "warmed": after ``engine.warmup.warm_engine``, as the workstation
runs it after its first paint (torch keeps one core free for the GUI); "not warmed": a fresh process whose first
engine work is this job (torch imported inside it, every core for torch). Goal: under 100 ms warmed.

    python benchmarks/generator_panel_stall.py [--n 64] [--json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _run_and_wait(app, job) -> float:
    started = time.perf_counter()
    while not job.state.finished:
        app.processEvents()
        time.sleep(0.001)
    if job.state.value != "done":
        raise SystemExit(f"{job.title}: {job.state.value} ({job.error})")
    return time.perf_counter() - started


def _measure_generate(app, panel, n: int) -> dict:
    from PySide6.QtCore import QTimer

    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    panel.count.setValue(n)
    seconds = _run_and_wait(app, panel.generate())
    timer.stop()
    gaps = sorted(b - a for a, b in itertools.pairwise(ticks))
    return {"job_seconds": round(seconds, 2), "max_gap_ms": round(1000 * gaps[-1], 1),
            "p99_gap_ms": round(1000 * gaps[int(0.99 * (len(gaps) - 1))], 1)}


def measure(n: int, warmed: bool) -> dict:
    from medstation.engine.runtime.warmup import warm_engine
    from medstation.ui.app import create_application
    from medstation.ui.jobs import JobRunner
    from medstation.ui.panels.generator_panel import GeneratorPanel

    app = create_application()
    runner = JobRunner()
    panel = GeneratorPanel(runner)
    if warmed:
        _run_and_wait(app, runner.submit("Start compute engine", warm_engine))
    _run_and_wait(app, panel.refresh_models())
    index = panel.models.findData("cxr-gan")
    if index < 0:
        raise SystemExit("the shipped cxr-gan bundle is not installed (medstation/data/models/cxr-gan)")
    panel.models.setCurrentIndex(index)
    runs = [_measure_generate(app, panel, n) for _ in range(2 if warmed else 1)]
    runner.shutdown()
    panel.deleteLater()
    app.processEvents()
    return {"first": runs[0], "second": runs[-1]} if warmed else runs[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=64, help="images per job")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--not-warmed", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.not_warmed:
        print(json.dumps(measure(args.n, warmed=False)))
        return
    reference = subprocess.run([sys.executable, __file__, "--n", str(args.n), "--not-warmed"], capture_output=True,
                               text=True, check=True)
    result = {"n": args.n, "warmed": measure(args.n, warmed=True),
              "not_warmed": json.loads(reference.stdout.strip().splitlines()[-1]), "goal_ms": 100}
    print(json.dumps(result) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
