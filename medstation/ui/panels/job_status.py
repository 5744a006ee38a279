"""Showing a panel's job in its progress bar and status line."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QProgressBar

from medstation.ui.jobs import Job


def show_job_status(job: Job, progress: QProgressBar, status: QLabel) -> None:
    """Progress (0..1000) and message while it runs; "Failed: …" or "Cancelled." when it ends that way."""
    job.progressed.connect(
        lambda fraction, message: (progress.setValue(round(1000 * fraction)), status.setText(message))
    )
    job.failed.connect(lambda error: status.setText(f"Failed: {error}"))
    job.cancelled.connect(lambda: status.setText("Cancelled."))
