"""A dismissible strip above the views that says, in plain words, what to check before reading a series."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

_STYLE = "QFrame { background: #5a4300; } QLabel { color: #ffe9a8; } QToolButton { color: #ffe9a8; border: none; }"
MAX_LINES = 6


class WarningBanner(QFrame):
    """Shows a list of warnings until the reader dismisses it or another series opens; hidden when empty."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setStyleSheet(_STYLE)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.dismiss_button = QToolButton()
        self.dismiss_button.setText("✕")
        self.dismiss_button.setToolTip("Dismiss until another series opens")
        self.dismiss_button.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.dismiss_button, 0, Qt.AlignmentFlag.AlignTop)
        self.lines: list[str] = []
        self.hide()

    def show_warnings(self, lines: list[str]) -> None:
        """Show ``lines`` (one warning each; beyond :data:`MAX_LINES` they are counted), or hide when none."""
        self.lines = list(lines)
        shown = self.lines[:MAX_LINES]
        if len(self.lines) > MAX_LINES:
            shown.append(f"… and {len(self.lines) - MAX_LINES} more")
        self.label.setText("\n".join(f"⚠ {line}" for line in shown))
        self.setVisible(bool(self.lines))
