"""The application exits with status 0 and no fatal error, also while a job is running (even one stuck in a long
call that never checks its cancel token) or on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # a workstation process each, quitting during a real training job or on SIGTERM

QUIT_DURING_JOB = """
import sys
from PySide6.QtCore import QTimer
from medstation.engine.runtime.smoke import run_training_check
from medstation.ui import app as workstation

show = workstation.MainWindow.show

def show_then_quit_mid_job(window):
    show(window)
    def start():
        job = window.runner.submit("long training", run_training_check, steps=100_000)
        job.progressed.connect(lambda f, m: m.startswith("training step") and window.close())
    QTimer.singleShot(0, start)

workstation.MainWindow.show = show_then_quit_mid_job
sys.exit(workstation.run_workstation())
"""

QUIT_WITH_A_STUCK_JOB = """
import sys, threading
from PySide6.QtCore import QTimer
from medstation.ui import app as workstation

show = workstation.MainWindow.show

def never_returns(progress=None, cancel=None):
    threading.Event().wait()  # a library call that never reaches a cancel check

def show_then_quit_while_stuck(window):
    show(window)
    def start():
        job = window.runner.submit("stuck call", never_returns)
        job.state_changed.connect(lambda state: state.value == "running" and window.close())
    QTimer.singleShot(0, start)

workstation.MainWindow.show = show_then_quit_while_stuck
workstation.run_workstation()
"""


def _env(tmp_path: Path) -> dict:
    return {**os.environ, "MEDSTATION_HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(tmp_path / "cfg")}


def test_quitting_while_a_job_runs_cancels_it_and_exits_cleanly(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", QUIT_DURING_JOB], capture_output=True, text=True, timeout=180, env=_env(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    assert "Fatal Python error" not in result.stderr
    log = (tmp_path / "home" / "logs" / "medstation.log").read_text()
    assert "(long training) cancelled" in log
    assert "exited with status 0" in log


def test_sigterm_closes_the_workstation_cleanly(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "medstation"], stderr=subprocess.PIPE, text=True, env=_env(tmp_path)
    )
    log = tmp_path / "home" / "logs" / "medstation.log"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (log.exists() and "compute device" in log.read_text()):
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert "Fatal Python error" not in stderr
    assert "exited with status 0" in log.read_text()


def test_quitting_while_a_job_is_stuck_in_a_long_call_still_exits_cleanly(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", QUIT_WITH_A_STUCK_JOB], capture_output=True, text=True, timeout=180,
        env=_env(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert "Fatal Python error" not in result.stderr
    log = (tmp_path / "home" / "logs" / "medstation.log").read_text()
    assert "still running after" in log and "(stuck call)" in log
    assert "exited with status 0" in log


SIGTERM_BEFORE_THE_LOOP = """
import os, signal, sys
from medstation.ui import app as workstation
from medstation.ui.study_opening import StudyOpener

open_path = StudyOpener.open_path

def open_then_terminate(self, *args, **kwargs):
    job = open_path(self, *args, **kwargs)
    os.kill(os.getpid(), signal.SIGTERM)  # handlers are installed, the event loop has not started yet
    return job

StudyOpener.open_path = open_then_terminate
workstation.run_workstation()
"""


def test_sigterm_before_the_event_loop_starts_still_ends_the_workstation(tmp_path):
    result = subprocess.run([sys.executable, "-c", SIGTERM_BEFORE_THE_LOOP], capture_output=True, text=True,
                            timeout=120, env=_env(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Fatal Python error" not in result.stderr and "Traceback" not in result.stderr
