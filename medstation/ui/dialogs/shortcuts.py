"""Help > Keyboard shortcuts: generated from the window's own actions and mouse bindings, so it never drifts."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHeaderView, QTableWidget, QTableWidgetItem, QVBoxLayout


def shortcut_rows(actions: list[QAction]) -> list[tuple[str, str]]:
    """(command, key) for every action that has a shortcut, in menu order."""
    rows = []
    for action in actions:
        keys = ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in action.shortcuts())
        if keys:
            rows.append((action.text().replace("&", "").rstrip("."), keys))
    return rows


class ShortcutsDialog(QDialog):
    def __init__(self, actions: list[QAction], mouse_rows: list[tuple[str, str]] = (), parent=None):
        super().__init__(parent)
        self.setWindowTitle("Keyboard and mouse")
        rows = [*shortcut_rows(actions), *mouse_rows]
        self.table = QTableWidget(len(rows), 2)
        self.table.setHorizontalHeaderLabels(["Command", "Key or mouse"])
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for row, (command, keys) in enumerate(rows):
            self.table.setItem(row, 0, QTableWidgetItem(command))
            self.table.setItem(row, 1, QTableWidgetItem(keys))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(460, 520)
