"""The engine's start-up in the workstation: jobs started meanwhile wait for it, and a failed start is retried."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from medstation.engine.runtime.device import DeviceInfo
from medstation.errors import DeviceError

DRIVER = Path(__file__).with_name("classify_during_engine_start.py")


@pytest.mark.slow
def test_classify_clicked_while_the_engine_starts_waits_for_it_and_succeeds():
    result = subprocess.run([sys.executable, str(DRIVER)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["classify_started_during_warm_up"], report
    assert report["warm_up"] == {"state": "done", "error": None}, report
    assert report["classify"] == {"state": "done", "error": None}, report
    assert report["device_status"].startswith(("Device: CPU (", "Device: CUDA: ", "Device: Apple MPS")), report
    assert report["prediction"].startswith("Prediction: "), report
    assert report["modules_run_twice"] == [], report
    assert len(report["threads_importing_monai"]) == 1, report


def _fake_engine_start(outcomes: list):
    """A warm-up that raises or returns the next of ``outcomes``, and the number of times it ran."""
    calls = []

    def warm_engine(device_setting=None, progress=None, cancel=None):
        calls.append(device_setting)
        outcome = outcomes[len(calls) - 1]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    return warm_engine, calls


def _close_error_dialogs(window, qtbot, count: int) -> None:
    qtbot.waitUntil(lambda: len(window.error_dialogs) == count, timeout=10_000)
    for box in list(window.error_dialogs):
        box.accept()
    qtbot.waitUntil(lambda: not window.error_dialogs, timeout=5_000)


def test_a_failed_engine_start_is_retried_by_the_next_job(make_window, qtbot, monkeypatch):
    cpu = DeviceInfo(device="cpu", name="test CPU", threads=1, source="auto")
    warm_engine, calls = _fake_engine_start(
        [ImportError("cannot import name 'VQVAE' from partially initialized module"), (cpu, {"torch": "x"})]
    )
    monkeypatch.setattr("medstation.engine.runtime.warmup.warm_engine", warm_engine)
    window = make_window()
    window.start_engine()
    qtbot.waitUntil(lambda: window.device_status.text() == "Device: unavailable", timeout=10_000)
    _close_error_dialogs(window, qtbot, 1)

    follow_up = window.runner.submit("Next", lambda progress, cancel: 42)
    qtbot.waitUntil(lambda: window.device_status.text() == "Device: CPU (1 thread)", timeout=10_000)
    qtbot.waitUntil(lambda: follow_up.result == 42, timeout=10_000)
    assert len(calls) == 2
    assert window.engine_versions == {"torch": "x"}


def test_a_device_setting_at_fault_is_not_retried_by_every_job(make_window, qtbot, monkeypatch):
    warm_engine, calls = _fake_engine_start([DeviceError("cuda was requested but this machine has 0 CUDA devices")])
    monkeypatch.setattr("medstation.engine.runtime.warmup.warm_engine", warm_engine)
    window = make_window()
    window.start_engine()
    qtbot.waitUntil(lambda: window.device_status.text() == "Device: unavailable", timeout=10_000)
    _close_error_dialogs(window, qtbot, 1)

    follow_up = window.runner.submit("Next", lambda progress, cancel: 42)
    qtbot.waitUntil(lambda: follow_up.result == 42, timeout=10_000)
    assert len(calls) == 1
    assert window.device_status.text() == "Device: unavailable"
