"""How long a real engine job stalls the GUI thread: cold (torch's first import inside the job) and warm.

A 10 ms QTimer ticks on the GUI thread while ``run_training_check`` runs through ``ui.jobs``; the largest
gap between ticks is the stall. "cold" is the first job of the process (it imports torch and torch's
optimiser machinery); "warm" is the next one, which is what a user's jobs meet in the workstation, since
the workstation warms the engine in the background after its first paint. Goal: under 100 ms.
Reference in the same run: the cold job in a bare ``threading.Thread`` with a plain ``import torch``.

    python benchmarks/gui_stall.py [--json]
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

BARE_REFERENCE = """
import itertools, json, threading, time
ticks, done = [], []
def job():
    import torch
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])
    done.append(True)
threading.Thread(target=job).start()
while not done:
    ticks.append(time.perf_counter()); time.sleep(0.01)
print(json.dumps({"max_gap_ms": round(1000 * max(b - a for a, b in itertools.pairwise(ticks)), 1)}))
"""


def _measure_job(app, runner, fn) -> dict:
    from PySide6.QtCore import QTimer

    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    job = runner.submit("training check", fn)
    started = time.perf_counter()
    while not job.state.finished:
        app.processEvents()
        time.sleep(0.001)
    timer.stop()
    gaps = sorted(b - a for a, b in itertools.pairwise(ticks))
    return {
        "job_seconds": round(time.perf_counter() - started, 2),
        "ticks": len(ticks),
        "max_gap_ms": round(1000 * gaps[-1], 1),
        "p99_gap_ms": round(1000 * gaps[int(0.99 * (len(gaps) - 1))], 1),
    }


def measure() -> dict:
    from PySide6.QtCore import QCoreApplication

    from medstation.engine.runtime.smoke import run_training_check
    from medstation.ui.jobs import JobRunner

    app = QCoreApplication.instance() or QCoreApplication(sys.argv)
    runner = JobRunner()
    cold = _measure_job(app, runner, run_training_check)
    warm = _measure_job(app, runner, run_training_check)
    runner.shutdown()
    bare = subprocess.run([sys.executable, "-c", BARE_REFERENCE], capture_output=True, text=True, check=True)
    return {"cold": cold, "warm": warm, "bare_thread_plain_import": json.loads(bare.stdout), "goal_ms": 100}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = measure()
    print(json.dumps(result) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
