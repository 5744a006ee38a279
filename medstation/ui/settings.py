"""Persistent user settings (QSettings): window layout and compute device preference."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings

ORGANIZATION = "MedStation"
APPLICATION = "MedStation"


class Settings:
    """Typed access to the keys MedStation stores."""

    DEVICE = "engine/device"
    GEOMETRY = "window/geometry"
    STATE = "window/state"

    def __init__(self, store: QSettings | None = None):
        self._store = store or QSettings(ORGANIZATION, APPLICATION)

    @property
    def device(self) -> str:
        return str(self._store.value(self.DEVICE, "auto"))

    @device.setter
    def device(self, value: str) -> None:
        self._store.setValue(self.DEVICE, value)

    def window_layout(self) -> tuple[QByteArray | None, QByteArray | None]:
        """Saved (geometry, dock state), or None where nothing was saved yet."""
        return self._store.value(self.GEOMETRY), self._store.value(self.STATE)

    def save_window_layout(self, geometry: QByteArray, state: QByteArray) -> None:
        self._store.setValue(self.GEOMETRY, geometry)
        self._store.setValue(self.STATE, state)

    def sync(self) -> None:
        self._store.sync()
