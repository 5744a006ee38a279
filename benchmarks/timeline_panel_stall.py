"""How long the timeline panel freezes the GUI thread when a patient is shown and forecast (issue 6, GUI).

For each bundled sample timeline the panel switches patient (plots redrawn on the GUI thread, the forecast job
submitted), the shipped ``icu-trend-lstm`` forecasts it in a ``ui.jobs`` worker, and the panel draws the result.
``switch_ms`` is the GUI-thread time of ``show_patient`` itself (redraw, job submitted); then a 10 ms QTimer ticks on
the GUI thread until the forecast is drawn, and the largest gap between ticks is the stall while the job runs and
its result is drawn and painted. The engine is warmed first (``engine.warmup.warm_engine``), as the workstation
does after its first paint. Goal: under 100 ms.

    python benchmarks/timeline_panel_stall.py [--json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _wait(app, job) -> None:
    while not job.state.finished:
        app.processEvents()
        time.sleep(0.001)
    app.processEvents()
    if job.state.value != "done":
        raise SystemExit(f"{job.title}: {job.state.value} ({job.error})")


def _show_and_forecast(app, panel, index: int) -> dict:
    from PySide6.QtCore import QTimer

    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    app.processEvents()
    started = time.perf_counter()
    panel.show_patient(index)
    switch = time.perf_counter() - started
    _wait(app, panel.job)
    timer.stop()
    gaps = sorted(b - a for a, b in itertools.pairwise(ticks))
    return {
        "patient": panel.timeline.patient_id,
        "switch_ms": round(1000 * switch, 1),
        "forecast_seconds": round(time.perf_counter() - started, 2),
        "max_gap_ms": round(1000 * gaps[-1], 1),
        "p99_gap_ms": round(1000 * gaps[int(0.99 * (len(gaps) - 1))], 1),
    }


def measure() -> dict:
    from medstation.engine.runtime.warmup import warm_engine
    from medstation.io.timelines.reading import load_timelines
    from medstation.ui.app import create_application
    from medstation.ui.jobs import JobRunner
    from medstation.ui.panels.timeline_panel import TimelinePanel
    from medstation.ui.timeline_opening import sample_timelines

    app = create_application()
    runner = JobRunner()
    _wait(app, runner.submit("Start compute engine", warm_engine))
    panel = TimelinePanel(runner)
    panel.resize(1400, 600)
    panel.show()
    timelines, _ = load_timelines(sample_timelines())
    panel.timelines = timelines
    runs = [_show_and_forecast(app, panel, index) for index in range(len(timelines))]
    runner.shutdown()
    panel.close()
    panel.deleteLater()
    app.processEvents()
    return {"runs": runs, "goal_ms": 100}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = measure()
    print(json.dumps(result) if args.json else "\n".join(json.dumps(run) for run in result["runs"]))


if __name__ == "__main__":
    main()
