"""A real engine job runs off the GUI thread, and the GUI thread answers while it runs.

How long the GUI thread stalls depends on the machine's load, so it is measured by ``benchmarks/gui_stall.py``
and not asserted here; these tests check only what holds on any machine.
"""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QObject, Signal

from medstation.engine.runtime.smoke import run_training_check
from medstation.ui.jobs import JobRunner, JobState

WAIT_S = 120

pytestmark = pytest.mark.slow  # both run a real training job


class _Ping(QObject):
    """Lives in the GUI thread: a worker's ``asked`` is answered when the GUI thread's event loop runs."""

    asked = Signal()

    def __init__(self):
        super().__init__()
        self.answered = threading.Event()
        self.answered_on: int | None = None
        self.asked.connect(self._answer)

    def _answer(self) -> None:
        self.answered_on = threading.get_ident()
        self.answered.set()


@pytest.fixture
def runner(qapp):
    runner = JobRunner()
    yield runner
    assert runner.shutdown(30_000)


def test_a_real_engine_job_runs_on_a_worker_thread(qtbot, runner):
    gui_thread = threading.get_ident()
    engine_threads = set()

    def training(progress, cancel):
        def on_progress(fraction: float, message: str) -> None:
            engine_threads.add(threading.get_ident())
            progress(fraction, message)

        return run_training_check(steps=10, progress=on_progress, cancel=cancel)

    job = runner.submit("training check", training)
    delivered_on = []
    job.succeeded.connect(lambda result: delivered_on.append(threading.get_ident()))
    qtbot.waitUntil(lambda: job.state.finished, timeout=WAIT_S * 1000)
    assert job.state is JobState.SUCCEEDED, job.error
    assert engine_threads and gui_thread not in engine_threads
    assert delivered_on == [gui_thread]


def test_the_gui_thread_answers_while_an_engine_job_runs(qtbot, runner):
    """Mid-way through a training job, the job asks the GUI thread and waits for its answer before going on: the
    answer can only come if the GUI thread's event loop runs while the job is in progress."""
    ping = _Ping()
    asked = []

    def training(progress, cancel):
        def on_progress(fraction: float, message: str) -> None:
            if message.startswith("training step") and not asked:
                ping.asked.emit()
                asked.append((threading.get_ident(), ping.answered.wait(WAIT_S)))
            progress(fraction, message)

        return run_training_check(steps=10, progress=on_progress, cancel=cancel)

    job = runner.submit("training check", training)
    qtbot.waitUntil(lambda: job.state.finished, timeout=2 * WAIT_S * 1000)
    assert job.state is JobState.SUCCEEDED, job.error
    assert asked, "the job never reported a training step"
    (asked_from, answered_in_time), gui_thread = asked[0], threading.get_ident()
    assert asked_from != gui_thread
    assert answered_in_time and ping.answered_on == gui_thread
