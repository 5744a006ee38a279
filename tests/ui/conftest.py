"""Fixtures for GUI tests: a main window that is closed, deleted and checked for leaks afterwards."""

from __future__ import annotations

import gc

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from medstation.io.database import StudyDatabase
from medstation.ui.app import close_window, create_application
from medstation.ui.jobs import JobRunner
from medstation.ui.main_window import MainWindow
from medstation.ui.settings import Settings


@pytest.fixture
def settings(tmp_path) -> Settings:
    """Window layout in a throw-away ini file, shared settings in a throw-away ``settings.json``."""
    return Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat), tmp_path / "settings.json")


@pytest.fixture
def make_window(qapp, settings, tmp_path):
    """Build main windows; on teardown close them, join their jobs and fail on leaked widgets."""
    create_application()
    windows: list[MainWindow] = []
    before = {id(w) for w in QApplication.topLevelWidgets()}

    def make(start_engine: bool = False) -> MainWindow:
        database = StudyDatabase(tmp_path / f"studies-{len(windows)}.sqlite")
        window = MainWindow(JobRunner(), settings, database, start_engine_on_first_paint=start_engine)
        windows.append(window)
        return window

    yield make
    for window in windows:
        close_window(qapp, window)
        assert not window.runner.active_jobs(), "a job was still running after the window closed"
    windows.clear()
    gc.collect()
    qapp.processEvents()
    leaked = [w for w in QApplication.topLevelWidgets() if id(w) not in before and w.isVisible()]
    assert not leaked, f"visible widgets leaked: {leaked}"
