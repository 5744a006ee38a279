"""The one way engine work runs from the GUI: jobs on a thread pool with progress, cancel and results.

An engine function ``fn(*args, progress=..., cancel=..., **kwargs)`` runs in a worker thread; its
``progress(fraction, message)`` calls and its result or exception come back to the GUI thread as Qt
signals of a :class:`Job`. Cancelling sets the ``threading.Event`` the function checks between steps.
"""

from __future__ import annotations

import enum
import itertools
import logging
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from medstation.errors import Cancelled

log = logging.getLogger(__name__)
PROGRESS_INTERVAL_S = 0.05
QUIT_GRACE_MS = 400
"""How long quitting waits for cancelled jobs to reach their next cancel check (docs/design.md §5)."""
_ids = itertools.count(1)


class JobState(enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)


class _WorkerSignals(QObject):
    """Signals emitted from the worker thread; Qt queues them to the Job in the GUI thread."""

    started = Signal()
    progressed = Signal(float, str)
    returned = Signal(object)
    raised = Signal(object, str)


class _Worker(QRunnable):
    def __init__(self, call: Callable[..., Any], cancel: threading.Event, signals: _WorkerSignals):
        super().__init__()
        self.setAutoDelete(False)
        self._call = call
        self._cancel = cancel
        self._signals = signals
        self._last_emit = 0.0
        self.done = threading.Event()
        """Set when :meth:`run` has returned (the job's signals may still be on their way to the GUI thread)."""

    def _progress(self, fraction: float, message: str) -> None:
        now = time.monotonic()
        if fraction >= 1.0 or now - self._last_emit >= PROGRESS_INTERVAL_S:
            self._last_emit = now
            self._signals.progressed.emit(float(fraction), str(message))

    def run(self) -> None:
        try:
            self._run()
        finally:
            self.done.set()

    def _run(self) -> None:
        if self._cancel.is_set():
            self._signals.raised.emit(Cancelled("cancelled before it started"), "")
            return
        self._signals.started.emit()
        try:
            result = self._call(progress=self._progress, cancel=self._cancel)
        except BaseException as error:  # every failure must reach the GUI, never kill the pool thread
            self._signals.raised.emit(error, traceback.format_exc())
        else:
            self._signals.returned.emit(result)


class Job(QObject):
    """A piece of engine work; its signals arrive in the GUI thread. ``finished`` is always last."""

    state_changed = Signal(object)
    progressed = Signal(float, str)
    succeeded = Signal(object)
    failed = Signal(object)
    cancelled = Signal()
    finished = Signal()

    def __init__(self, title: str, call: Callable[..., Any], parent: QObject | None = None):
        super().__init__(parent)
        self.id = next(_ids)
        self.title = title
        self.state = JobState.QUEUED
        self.fraction = 0.0
        self.message = ""
        self.result: Any = None
        self.error: BaseException | None = None
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self._cancel_event = threading.Event()
        self._done_event = threading.Event()
        self._signals = _WorkerSignals()
        self._signals.started.connect(self._on_started)
        self._signals.progressed.connect(self._on_progress)
        self._signals.returned.connect(self._on_returned)
        self._signals.raised.connect(self._on_raised)
        self.worker = _Worker(call, self._cancel_event, self._signals)

    def cancel(self) -> None:
        """Ask the job to stop; it ends as cancelled at its next check."""
        if not self.state.finished:
            self._cancel_event.set()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel_event.is_set()

    def elapsed(self) -> float:
        """Seconds the job has been running (or ran)."""
        if self.started_at is None:
            return 0.0
        return (self.ended_at or time.monotonic()) - self.started_at

    def _set_state(self, state: JobState) -> None:
        self.state = state
        self.state_changed.emit(state)

    @Slot()
    def _on_started(self) -> None:
        self.started_at = time.monotonic()
        self._set_state(JobState.RUNNING)

    @Slot(float, str)
    def _on_progress(self, fraction: float, message: str) -> None:
        self.fraction, self.message = fraction, message
        self.progressed.emit(fraction, message)

    @Slot(object)
    def _on_returned(self, result: Any) -> None:
        if self._cancel_event.is_set():
            # Cancelled after its last check (by the user, or by a shutdown that is closing the window): its
            # result must not reach a window that no longer expects it.
            self._on_raised(Cancelled(f"{self.title}: cancelled"), "")
            return
        self.result = result
        self._finish(JobState.SUCCEEDED)
        self.succeeded.emit(result)
        self.finished.emit()

    @Slot(object, str)
    def _on_raised(self, error: BaseException, details: str) -> None:
        self.error = error
        if isinstance(error, Cancelled):
            self._finish(JobState.CANCELLED)
            log.info("job %d (%s) cancelled", self.id, self.title)
            self.cancelled.emit()
        else:
            self._finish(JobState.FAILED)
            log.error("job %d (%s) failed: %s\n%s", self.id, self.title, error, details)
            self.failed.emit(error)
        self.finished.emit()

    def _finish(self, state: JobState) -> None:
        self.ended_at = time.monotonic()
        if self.started_at is None:
            self.started_at = self.ended_at
        self._done_event.set()
        self._set_state(state)


class JobRunner(QObject):
    """Runs jobs on its own thread pool and keeps the list the jobs panel shows."""

    job_added = Signal(object)

    def __init__(self, max_threads: int = 2, parent: QObject | None = None):
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads)
        self.jobs: list[Job] = []
        self.closed = False

    def submit(self, title: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Job:
        """Run ``fn(*args, progress=..., cancel=..., **kwargs)`` in a worker; returns its Job."""
        if self.closed:
            raise RuntimeError(f"cannot start {title!r}: the job runner has shut down")
        job = Job(title, lambda progress, cancel: fn(*args, progress=progress, cancel=cancel, **kwargs), self)
        self.jobs.append(job)
        log.info("job %d (%s) submitted", job.id, title)
        self.job_added.emit(job)
        self._pool.start(job.worker)
        return job

    def active_jobs(self) -> list[Job]:
        return [job for job in self.jobs if not job.state.finished]

    def forget_finished(self) -> None:
        """Drop finished jobs from the list and free them."""
        finished = [job for job in self.jobs if job.state.finished]
        self.jobs = [job for job in self.jobs if not job.state.finished]
        for job in finished:
            job.deleteLater()

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        """Refuse new jobs, cancel every job and wait up to ``timeout_ms`` for the workers; True when all stopped.

        False leaves the workers running: a job inside one long library call (a validation pass, an import)
        reaches its next cancel check only when that call returns. Quitting waits :data:`QUIT_GRACE_MS` for them,
        then ends the process without them (``ui/app.py``).
        """
        self.closed = True
        for job in self.active_jobs():
            job.cancel()
        stopped = self._pool.waitForDone(timeout_ms)
        if not stopped:
            for job in [job for job in self.active_jobs() if not job.worker.done.is_set()]:
                log.warning("job %d (%s) cancelled, still running after %d ms", job.id, job.title, timeout_ms)
        return stopped
