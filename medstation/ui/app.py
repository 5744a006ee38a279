"""Application bootstrap: QApplication, theme, logging, main window, a shutdown within a second."""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import signal
import sys
from pathlib import Path
from typing import NoReturn

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from medstation import __version__
from medstation.errors import UnreadableInput
from medstation.logs import setup_logging
from medstation.resources import resource_path
from medstation.ui.jobs import JobRunner
from medstation.ui.main_window import MainWindow
from medstation.ui.settings import APPLICATION, ORGANIZATION, Settings
from medstation.ui.theme import apply_dark_theme

log = logging.getLogger(__name__)


def create_application(argv: list[str] | None = None) -> QApplication:
    """The QApplication with MedStation's names and theme (reused if one exists)."""
    app = QApplication.instance() or QApplication(argv if argv is not None else [sys.argv[0]])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationVersion(__version__)
    apply_dark_theme(app)
    return app


def _log_uncaught(kind, value, trace) -> None:
    log.error("uncaught exception on the GUI thread", exc_info=(kind, value, trace))
    sys.__excepthook__(kind, value, trace)


def close_window(app: QApplication, window: MainWindow) -> None:
    """Close the window, join its jobs, delete it and flush deletions while the QApplication exists."""
    window.close()
    app.processEvents()
    window.runner.shutdown()
    window.deleteLater()
    app.processEvents()
    gc.collect()
    app.processEvents()


def end_process(code: int) -> NoReturn:
    """Exit with ``code`` now, without Python's teardown of every module (about a second once torch and MONAI are
    loaded), and without waiting for a worker still inside a long library call (Qt's thread pool would wait for it
    at teardown). Call it once the window is closed (its jobs cancelled, settings saved, study index closed); the
    log is flushed here. Nothing is deleted at teardown, so no pyqtgraph widget can outlive the QApplication. What a
    worker may be writing (a bundle, an export, a checkpoint) goes to a temporary name and is renamed when complete,
    and the study index commits whole batches, so nothing is left half written: at worst a hidden temporary file
    or folder (docs/design.md §5, §9)."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def quit_on_signals(app: QApplication, window: MainWindow) -> QTimer:
    """Close the window cleanly on SIGINT / SIGTERM (Ctrl+C, logout); the timer lets Python see signals."""
    def close_now() -> None:
        window.close()
        app.quit()  # also when another top-level window (a dialog, a floating dock) would keep the loop alive

    def close_and_quit(*_) -> None:
        # Deferred to the event loop: a signal that arrives before app.exec() starts would otherwise quit a loop
        # that is not running yet, and the loop would then wait forever with the window already closed.
        QTimer.singleShot(0, close_now)

    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, close_and_quit)
    timer = QTimer(app)
    timer.start(200)
    timer.timeout.connect(lambda: None)
    return timer


def sample_study() -> Path | None:
    """The bundled sample study (chest radiographs as DICOM; its largest series, a full-resolution radiograph, opens
    first), where this installation has it."""
    folder = resource_path("sample", "images")
    return folder if folder.is_dir() else None


def run_workstation(path: str | None = None) -> NoReturn:
    """Open the main window on PATH (a study or a timeline file), else the sample study; when it closes, end the
    process with the exit code (:func:`end_process`)."""
    if path is not None and not Path(path).exists():
        raise UnreadableInput(f"{path}: no such file or folder")
    log_file = setup_logging()
    sys.excepthook = _log_uncaught
    app = create_application()
    window = MainWindow(JobRunner(), Settings())
    window.show()
    signal_timer = quit_on_signals(app, window)
    log.info("MedStation %s started; log at %s", __version__, log_file)
    if path is not None:
        window.open_paths([Path(path)])
    elif (study := sample_study()) is not None:
        window.opener.open_path(study, remember=False)
    code = app.exec()
    signal_timer.stop()
    if window.isVisible():  # the loop ended another way than by closing the window
        window.close()
    log.info("MedStation exited with status %d", code)
    end_process(code)
