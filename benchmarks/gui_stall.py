"""How long a real engine job stalls the GUI thread, torch's first import included.

Runs a 10 ms QTimer on the GUI thread while ``run_training_check`` (torch imported inside the job,
then training steps) runs through ``ui.jobs``; prints the largest gap between timer ticks.
Goal: under 100 ms. Reference: the same job run with a bare ``threading.Thread`` (no warm-up).

    python benchmarks/gui_stall.py [--json] [--bare]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def measure(bare: bool) -> dict:
    from PySide6.QtCore import QCoreApplication, QTimer

    from medstation.engine.smoke import run_training_check

    app = QCoreApplication.instance() or QCoreApplication(sys.argv)
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    done = {"flag": False}
    if bare:
        import threading

        def work() -> None:
            run_training_check()
            done["flag"] = True

        threading.Thread(target=work).start()
    else:
        from medstation.ui.jobs import JobRunner

        runner = JobRunner()
        job = runner.submit("training check", run_training_check)
        job.finished.connect(lambda: done.update(flag=True))
    started = time.perf_counter()
    while not done["flag"]:
        app.processEvents()
        time.sleep(0.001)
    timer.stop()
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    return {
        "mode": "bare thread" if bare else "ui.jobs",
        "job_seconds": round(time.perf_counter() - started, 2),
        "ticks": len(ticks),
        "max_gap_ms": round(1000 * max(gaps), 1),
        "p99_gap_ms": round(1000 * sorted(gaps)[int(0.99 * (len(gaps) - 1))], 1),
        "goal_ms": 100,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--bare", action="store_true", help="run the job in a plain thread instead")
    args = parser.parse_args()
    result = measure(args.bare)
    print(json.dumps(result) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
