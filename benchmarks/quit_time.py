"""Seconds from Quit to the end of the process while a real engine job runs, and where they go.

The workstation runs in a child process (offscreen) as ``medstation`` starts it; a job is started after the window
shows, and once it is well under way the window is closed, as File > Quit does. The child prints a time stamp at
each step of the shutdown; the parent notes when the process has ended. Jobs:

- ``classifier``: ``train_classifier`` on ``../shared/data/medmnist/pneumoniamnist.npz`` (the shipped recipe),
  closed during the first epoch's batches;
- ``classifier-validation``: the same, closed while the first epoch's validation pass runs (no cancel check there);
- ``generator``: ``train_generator`` on the same file, closed during the first epoch;
- ``warm-up``: the engine's imports (torch, MONAI) after the first paint, closed while they run.

Steps: ``close`` (Quit), ``shutdown`` / ``shutdown-done`` (the job runner cancels and waits), then either
``end-process`` (the log flushed, ``os._exit``) or, in versions without it, ``exec-returned`` (the event loop
ended), ``window-deleted`` (close_window done), ``run-returned`` and ``atexit`` (Python's exit handlers, after its
threads were joined, before its teardown); ``quit_to_exit_s`` is when the parent saw the process end. Also reported:
the exit status (0 expected), whether a "Fatal Python error" appeared, the job's states as the GUI thread saw them
(a job abandoned inside a long call never reports "cancelled"), and what is left in the output folder (nothing: no
bundle, no temporary folder).
Goal: Quit to exit under 1 s. To measure another version (the one before a change), put an export of its
``medstation`` folder first on ``PYTHONPATH``: the child runs in a temporary folder, so that is the one imported.

    python benchmarks/quit_time.py [--jobs classifier,classifier-validation,generator,warm-up] [--runs N] [--json]
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

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "medmnist" / "pneumoniamnist.npz"

CHILD = r"""
import atexit, sys, threading, time
from PySide6.QtCore import QTimer
from medstation.ui import app as workstation
from medstation.ui.jobs import JobRunner

kind, data, out = sys.argv[1], sys.argv[2], sys.argv[3]

def mark(name):
    print(f"MARK {name} {time.time():.6f}", file=sys.stderr, flush=True)

atexit.register(mark, "atexit")
shutdown = JobRunner.shutdown
def timed_shutdown(self, *args, **kwargs):
    mark("shutdown")
    try:
        return shutdown(self, *args, **kwargs)
    finally:
        mark("shutdown-done")
JobRunner.shutdown = timed_shutdown
close_window = workstation.close_window
def timed_close_window(*args, **kwargs):
    mark("exec-returned")
    try:
        return close_window(*args, **kwargs)
    finally:
        mark("window-deleted")
workstation.close_window = timed_close_window
if hasattr(workstation, "end_process"):
    end_process = workstation.end_process
    def timed_end_process(code):
        mark("end-process")
        end_process(code)
    workstation.end_process = timed_end_process

def classifier(progress, cancel):
    from medstation.engine.classifier import load_labelled_images, train_classifier
    return train_classifier(load_labelled_images(data), out, progress=progress, cancel=cancel)

def generator(progress, cancel):
    from medstation.engine.classifier import load_labelled_images
    from medstation.engine.generator import train_generator
    return train_generator(load_labelled_images(data), out, progress=progress, cancel=cancel)

def quit_now(window):
    if not getattr(window, "quitting", False):
        window.quitting = True
        mark("close")
        window.close()

def watch(window, job, wanted):
    job.state_changed.connect(lambda state: print(f"JOB {state.value}", file=sys.stderr, flush=True))
    job.progressed.connect(lambda fraction, message: wanted(message) and quit_now(window))

in_validation = threading.Event()
if kind == "classifier-validation":
    from medstation.engine.classifier import training
    logits = training.network_logits
    def noted_logits(*args, **kwargs):
        in_validation.set()
        return logits(*args, **kwargs)
    training.network_logits = noted_logits

show = workstation.MainWindow.show
def show_then_quit_mid_job(window):
    show(window)
    def start():
        if kind == "warm-up":
            job = window.start_engine()
            job.state_changed.connect(
                lambda state: state.value == "running" and QTimer.singleShot(300, lambda: quit_now(window)))
            watch(window, job, lambda message: False)
            return
        job = window.runner.submit(f"long {kind} job", generator if kind == "generator" else classifier)
        if kind == "classifier-validation":
            poll = QTimer(window)
            poll.timeout.connect(lambda: in_validation.is_set() and quit_now(window))
            poll.start(10)
            watch(window, job, lambda message: False)
        else:
            batches = []
            def twentieth_batch(message):
                batches.extend(message.split()[:1])
                return batches.count("epoch") >= 20
            watch(window, job, twentieth_batch)
    QTimer.singleShot(0, start)

workstation.MainWindow.show = show_then_quit_mid_job
code = workstation.run_workstation()
mark("run-returned")
sys.exit(code)
"""


def run_once(kind: str) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        out = folder / "models" / "bundle"
        out.parent.mkdir()
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "MEDSTATION_HOME": str(folder / "home"),
               "XDG_CONFIG_HOME": str(folder / "config")}
        with tempfile.TemporaryFile("w+") as errors:
            # the working directory is the temporary folder, so PYTHONPATH decides which medstation runs
            process = subprocess.Popen([sys.executable, "-c", CHILD, kind, str(DATA), str(out)], env=env,
                                       cwd=folder, stdout=subprocess.DEVNULL, stderr=errors, text=True)
            code = process.wait(600)
            ended = time.time()
            errors.seek(0)
            text = errors.read()
        marks = {}
        for line in text.splitlines():
            if line.startswith("MARK "):
                _, name, stamp = line.split()
                marks.setdefault(name, float(stamp))
        states = [line.split()[1] for line in text.splitlines() if line.startswith("JOB ")]
        leftovers = sorted(path.name for path in out.parent.iterdir())
    if "close" not in marks:
        raise RuntimeError(f"{kind}: the window was never closed (exit status {code}):\n{text[-3000:]}")
    steps = {name: round(stamp - marks["close"], 3) for name, stamp in marks.items() if name != "close"}
    return {"job": kind, "quit_to_exit_s": round(ended - marks["close"], 3), "steps_s": steps, "exit_status": code,
            "fatal": "Fatal Python error" in text, "job_states": states, "left_in_output_folder": leftovers}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", default="classifier,classifier-validation,generator,warm-up")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not DATA.exists():
        sys.exit(f"needs {DATA} (docs/data.md)")
    results = []
    for kind in args.jobs.split(","):
        runs = [run_once(kind) for _ in range(args.runs)]
        times = [run["quit_to_exit_s"] for run in runs]
        results.append({"job": kind, "median_s": round(statistics.median(times), 3), "max_s": max(times),
                        "goal_s": 1.0, "runs": runs})
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for result in results:
        print(f"{result['job']}: quit to exit median {result['median_s']} s, max {result['max_s']} s (goal 1 s)")
        for run in result["runs"]:
            print(f"  {run['quit_to_exit_s']} s  steps {run['steps_s']}  status {run['exit_status']}  "
                  f"fatal {run['fatal']}  job {'/'.join(run['job_states'])}  left {run['left_in_output_folder']}")


if __name__ == "__main__":
    main()
