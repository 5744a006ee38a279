"""Opening a sample image in a test window: copied to a folder of its own first, so exports may write beside it."""

from __future__ import annotations

import shutil
from pathlib import Path

from medstation.resources import resource_path
from medstation.ui.jobs import JobState

SAMPLE = resource_path("sample", "images")


def finish(qtbot, job, timeout: int = 60_000):
    qtbot.waitUntil(lambda: job.state.finished, timeout=timeout)
    assert job.state is JobState.SUCCEEDED, job.error
    return job.result


def open_sample(qtbot, window, folder: Path, name: str = "sample-04.dcm") -> Path:
    """Copy the sample image ``name`` into ``folder`` and open it in ``window``; the copy's path."""
    folder.mkdir(parents=True, exist_ok=True)
    copy = Path(shutil.copy(SAMPLE / name, folder / name))
    finish(qtbot, window.opener.open_path(copy))
    assert window.viewer.state is not None and window.open_series() is not None
    return copy
