"""Preferences write the compute device to the settings file the command line reads; the layout stays in Qt."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QLabel

from medstation.engine.runtime.device import requested_device
from medstation.settings import settings_file
from medstation.ui.dialogs.preferences import PreferencesDialog
from medstation.ui.settings import Settings


def _qt_store(tmp_path) -> QSettings:
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def settings(tmp_path, monkeypatch) -> Settings:
    """Shared settings in the user data folder every command reads (a throw-away one), layout in an ini file."""
    monkeypatch.setenv("MEDSTATION_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MEDSTATION_DEVICE", raising=False)
    return Settings(_qt_store(tmp_path))


def test_the_device_chosen_in_preferences_is_the_one_commands_use(make_window, settings, monkeypatch):
    window = make_window()
    monkeypatch.setattr(window, "start_engine", lambda: None)

    def choose_cpu(dialog: PreferencesDialog) -> int:
        dialog.device.setCurrentText("cpu")
        return 1

    monkeypatch.setattr(PreferencesDialog, "exec", choose_cpu)
    window.show_preferences()
    assert json.loads(settings_file().read_text(encoding="utf-8")) == {"device": "cpu"}
    assert requested_device() == ("cpu", "settings")


def test_the_dialog_says_where_the_device_is_saved(qapp, settings):
    dialog = PreferencesDialog(settings.device, None)
    notes = " ".join(label.text() for label in dialog.findChildren(QLabel))
    assert str(settings_file()) in notes and "commands use it too" in notes
    dialog.deleteLater()


def test_a_device_saved_by_an_earlier_version_moves_to_the_settings_file(tmp_path, settings):
    store = _qt_store(tmp_path)
    store.setValue(Settings.QT_DEVICE, "cpu")
    store.sync()
    moved = Settings(_qt_store(tmp_path))
    assert moved.device == "cpu" and json.loads(settings_file().read_text(encoding="utf-8")) == {"device": "cpu"}
    assert not _qt_store(tmp_path).contains(Settings.QT_DEVICE)


def test_the_settings_file_wins_over_a_device_left_in_qt(tmp_path, settings):
    settings.device = "mps"
    store = _qt_store(tmp_path)
    store.setValue(Settings.QT_DEVICE, "cpu")
    store.sync()
    assert Settings(_qt_store(tmp_path)).device == "mps"
    assert not _qt_store(tmp_path).contains(Settings.QT_DEVICE)
