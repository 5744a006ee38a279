"""The GUI's view of the user settings: the shared ones in :mod:`medstation.settings`, window layout in QSettings."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from medstation.errors import MedStationError
from medstation.settings import load_settings, settings_file, update_settings

log = logging.getLogger(__name__)

ORGANIZATION = "MedStation"
APPLICATION = "MedStation"
MAX_RECENT = 10
"""How many recently opened files and folders File > Open recent lists."""


class Settings:
    """Typed access to what MedStation keeps between sessions.

    The compute device lives in the settings file the command line reads too (``file``, by default
    ``settings.json`` in the user data folder); window geometry and dock layout, which only the GUI uses,
    stay in Qt's store, with the recently opened paths.
    """

    GEOMETRY = "window/geometry"
    STATE = "window/state"
    RECENT = "files/recent"
    QT_DEVICE = "engine/device"
    """Where versions before the shared settings file kept the device; moved to the file once."""

    def __init__(self, store: QSettings | None = None, file: Path | None = None):
        self._store = store or QSettings(ORGANIZATION, APPLICATION)
        self._file = file
        self._move_device_out_of_qt()

    @property
    def file(self) -> Path:
        """The shared settings file."""
        return self._file or settings_file()

    @property
    def device(self) -> str:
        return load_settings(self._file).device

    @device.setter
    def device(self, value: str) -> None:
        update_settings(self._file, device=value)

    def window_layout(self) -> tuple[QByteArray | None, QByteArray | None]:
        """Saved (geometry, dock state), or None where nothing was saved yet."""
        return self._store.value(self.GEOMETRY), self._store.value(self.STATE)

    def save_window_layout(self, geometry: QByteArray, state: QByteArray) -> None:
        self._store.setValue(self.GEOMETRY, geometry)
        self._store.setValue(self.STATE, state)

    def recent_paths(self) -> list[str]:
        """Files and folders opened lately, newest first (at most :data:`MAX_RECENT`); some may be gone since."""
        value = self._store.value(self.RECENT, [])
        paths = [value] if isinstance(value, str) else list(value or [])
        return [str(path) for path in paths if path][:MAX_RECENT]

    def add_recent_path(self, path: str | os.PathLike) -> list[str]:
        """Put ``path`` (made absolute) first among the recent paths; returns them."""
        path = os.path.abspath(path)
        paths = [path, *(known for known in self.recent_paths() if known != path)][:MAX_RECENT]
        self._store.setValue(self.RECENT, paths)
        return paths

    def clear_recent_paths(self) -> None:
        self._store.remove(self.RECENT)

    def sync(self) -> None:
        self._store.sync()

    def _move_device_out_of_qt(self) -> None:
        """A device chosen before the settings file existed is written there; the file wins when both exist."""
        if not self._store.contains(self.QT_DEVICE):
            return
        try:
            if not self.file.exists():
                update_settings(self._file, device=str(self._store.value(self.QT_DEVICE)))
        except MedStationError as error:
            log.warning("the saved compute device stays in Qt's settings for now: %s", error)
            return
        self._store.remove(self.QT_DEVICE)
        self._store.sync()
