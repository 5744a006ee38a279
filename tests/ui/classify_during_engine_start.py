"""Click Classify while the workstation is still starting its engine, with MONAI's import slowed down.

Run in a fresh interpreter (torch and MONAI not yet imported) by ``test_engine_start.py``: MONAI's modules are
loaded through a finder that records which thread runs each module's body, and the warm-up job, once inside
``monai.apps``, waits there until Classify has been clicked and then a little longer, so the AI panel's job starts
while MONAI is half imported. Prints one JSON object: how both jobs ended, the device label shown, and the MONAI
module bodies each thread ran.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import json
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

SLOW_MODULE = "monai.apps"
HOLD_AFTER_CLICK_S = 1.0
TIMEOUT_S = 240.0

slow_import_entered = threading.Event()
classify_clicked = threading.Event()
executed: list[tuple[str, str]] = []


class _RecordingLoader(importlib.abc.Loader):
    def __init__(self, inner: importlib.abc.Loader):
        self.inner = inner

    def create_module(self, spec):
        return self.inner.create_module(spec)

    def exec_module(self, module) -> None:
        executed.append((threading.current_thread().name, module.__name__))
        if module.__name__ == SLOW_MODULE:
            slow_import_entered.set()
            classify_clicked.wait(TIMEOUT_S)
            time.sleep(HOLD_AFTER_CLICK_S)
        self.inner.exec_module(module)


class _SlowMonaiFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != "monai" and not name.startswith("monai."):
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _RecordingLoader(spec.loader)
        return spec


def _wait(app, condition, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        app.processEvents()
        time.sleep(0.01)


def _outcome(job) -> dict:
    return {"state": job.state.value, "error": None if job.error is None else repr(job.error)}


def main() -> None:
    sys.meta_path.insert(0, _SlowMonaiFinder())
    with tempfile.TemporaryDirectory(prefix="classify-during-start-", ignore_cleanup_errors=True) as folder:
        report = _classify_during_engine_start(Path(folder))
    print(json.dumps(report))


def _classify_during_engine_start(folder: Path) -> dict:
    from PySide6.QtCore import QSettings

    from medstation.io.database import StudyDatabase
    from medstation.io.open_study import open_image
    from medstation.resources import resource_path
    from medstation.ui.app import close_window, create_application
    from medstation.ui.jobs import JobRunner
    from medstation.ui.main_window import MainWindow
    from medstation.ui.settings import Settings

    app = create_application()
    settings = Settings(QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat), folder / "settings.json")
    database = StudyDatabase(folder / "studies.sqlite")
    window = MainWindow(JobRunner(), settings, database, start_engine_on_first_paint=False)
    engine_job = window.start_engine()
    _wait(app, slow_import_entered.is_set, "the warm-up to reach MONAI")
    panel = window.ai_panel
    _wait(app, lambda: panel.models.count() > 0, "the list of AI models")
    panel.set_volume(open_image(resource_path("sample", "images", "sample-01.dcm")).volume)
    started_during_warm_up = not engine_job.state.finished
    panel.run_button.click()
    classify_clicked.set()
    classify_job = panel.job
    _wait(app, lambda: engine_job.state.finished and (classify_job is None or classify_job.state.finished),
          "both jobs to finish")
    bodies = Counter(name for _, name in executed)
    report = {
        "classify_started_during_warm_up": started_during_warm_up and classify_job is not None,
        "warm_up": _outcome(engine_job),
        "classify": _outcome(classify_job) if classify_job is not None else None,
        "device_status": window.device_status.text(),
        "prediction": panel.status.text(),
        "modules_run_twice": sorted(name for name, count in bodies.items() if count > 1),
        "threads_importing_monai": sorted({thread for thread, _ in executed}),
    }
    close_window(app, window)
    return report


if __name__ == "__main__":
    main()
