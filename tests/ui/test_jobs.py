"""Jobs: progress, results, errors and cancel arrive as signals on the GUI thread."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from medstation.engine.runtime.smoke import run_training_check
from medstation.errors import UnreadableInput
from medstation.progress import check_cancelled
from medstation.ui.jobs import JobRunner, JobState


@pytest.fixture
def runner(qapp):
    runner = JobRunner()
    yield runner
    assert runner.shutdown(10_000)


def counting(n: int, progress, cancel) -> int:
    for i in range(n):
        check_cancelled(cancel)
        progress((i + 1) / n, f"item {i + 1}")
        time.sleep(0.01)
    return n * 2


def test_progress_and_result_arrive_in_the_gui_thread(qtbot, runner):
    seen, threads = [], set()
    job = runner.submit("count", counting, 10)
    job.progressed.connect(lambda f, m: (seen.append(f), threads.add(threading.get_ident())))
    with qtbot.waitSignal(job.finished, timeout=10_000):
        pass
    assert job.state is JobState.SUCCEEDED and job.result == 20
    assert seen and seen == sorted(seen) and seen[-1] == 1.0
    assert threads == {threading.get_ident()}


def test_a_raising_job_fails_with_its_error_and_a_log_line(qtbot, runner, caplog):
    def broken(progress, cancel):
        raise UnreadableInput("/data/x.dcm: truncated pixel data")

    caplog.set_level(logging.ERROR, logger="medstation")
    job = runner.submit("read", broken)
    with qtbot.waitSignal(job.failed, timeout=10_000) as blocker:
        pass
    assert isinstance(blocker.args[0], UnreadableInput)
    assert job.state is JobState.FAILED
    assert "truncated pixel data" in caplog.text and "Traceback" in caplog.text


@pytest.mark.slow
def test_cancel_stops_a_real_training_job_at_the_next_step(qtbot, runner):
    """Cancellation is checked between steps: at most the step under way finishes after cancel is set."""
    steps_after_cancel = []

    def training(progress, cancel):
        def counted(fraction, message):
            if cancel.is_set() and message.startswith("training step"):
                steps_after_cancel.append(message)
            progress(fraction, message)

        return run_training_check(steps=100_000, progress=counted, cancel=cancel)

    job = runner.submit("train", training)
    qtbot.waitUntil(lambda: job.message.startswith("training step"), timeout=60_000)
    job.cancel()
    with qtbot.waitSignal(job.finished, timeout=60_000):
        pass
    assert job.state is JobState.CANCELLED
    assert len(steps_after_cancel) <= 1, steps_after_cancel


def test_a_job_cancelled_while_queued_never_runs(qtbot, qapp):
    runner = JobRunner(max_threads=1)
    release = threading.Event()
    started = []
    blocker = runner.submit("blocker", lambda progress, cancel: release.wait(10))
    queued = runner.submit("queued", lambda progress, cancel: started.append(True))
    queued.cancel()
    release.set()
    with qtbot.waitSignal(queued.finished, timeout=10_000):
        pass
    assert queued.state is JobState.CANCELLED and not started
    qtbot.waitUntil(lambda: blocker.state.finished, timeout=10_000)
    assert runner.shutdown(5_000)


def test_shutdown_cancels_and_joins_running_jobs(qtbot, qapp):
    runner = JobRunner()
    job = runner.submit("count", counting, 100_000)
    qtbot.waitUntil(lambda: job.state is JobState.RUNNING, timeout=10_000)
    assert runner.shutdown(5_000)
    qapp.processEvents()
    assert job.state is JobState.CANCELLED


def test_a_job_cancelled_after_its_last_check_ends_cancelled_and_its_result_is_not_delivered(qtbot, runner):
    running, release = threading.Event(), threading.Event()

    def unaware(progress, cancel):  # returns a result without looking at cancel again
        running.set()
        release.wait(10)
        return "late result"

    job = runner.submit("unaware", unaware)
    delivered = []
    job.succeeded.connect(delivered.append)
    assert running.wait(10)
    job.cancel()
    release.set()
    with qtbot.waitSignal(job.finished, timeout=10_000):
        pass
    assert job.state is JobState.CANCELLED and delivered == []
