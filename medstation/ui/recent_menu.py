"""File > Open recent: the files and folders opened lately, newest first, kept in Qt's settings store.

A path that is gone (a removed folder, an unplugged drive) stays listed but greyed out, with a tooltip saying so,
since it may come back; Clear list forgets them all.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QMenu, QWidget

from medstation.ui.settings import Settings


class RecentMenu(QMenu):
    """The recent paths as a menu; choosing one calls ``open_path(path)``. Rebuilt each time it opens."""

    def __init__(self, settings: Settings, open_path: Callable[[str], object], parent: QWidget | None = None):
        super().__init__("Open &recent", parent)
        self.settings = settings
        self.open_path = open_path
        self.aboutToShow.connect(self.refresh)
        self.refresh()

    def add(self, path: str) -> None:
        """Remember ``path`` as the newest."""
        self.settings.add_recent_path(path)
        self.refresh()

    def refresh(self) -> None:
        """List the recent paths again (greying out those that are gone)."""
        self.clear()
        paths = self.settings.recent_paths()
        for number, path in enumerate(paths, start=1):
            accelerator = f"&{number % 10} " if number <= 10 else ""
            action = self.addAction(f"{accelerator}{path.replace('&', '&&')}")
            action.setData(path)
            present = Path(path).exists()
            action.setEnabled(present)
            action.setToolTip(path if present else f"{path}: no longer there")
            action.triggered.connect(lambda _=False, path=path: self.open_path(path))
        if not paths:
            self.addAction("No recent files").setEnabled(False)
        self.addSeparator()
        clear = self.addAction("&Clear list", self._clear)
        clear.setEnabled(bool(paths))
        self.setToolTipsVisible(True)

    def path_actions(self) -> list:
        """The actions of the listed paths, newest first."""
        return [action for action in self.actions() if action.data()]

    def _clear(self) -> None:
        self.settings.clear_recent_paths()
        self.refresh()
