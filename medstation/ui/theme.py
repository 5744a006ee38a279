"""The dark theme: Fusion style, a dark palette and the style sheet in resources/styles."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from medstation.resources import resource_path

_COLORS = {
    QPalette.ColorRole.Window: "#242424",
    QPalette.ColorRole.WindowText: "#d8d8d8",
    QPalette.ColorRole.Base: "#1b1b1b",
    QPalette.ColorRole.AlternateBase: "#222222",
    QPalette.ColorRole.ToolTipBase: "#2e2e2e",
    QPalette.ColorRole.ToolTipText: "#e0e0e0",
    QPalette.ColorRole.Text: "#d8d8d8",
    QPalette.ColorRole.Button: "#2d2d2d",
    QPalette.ColorRole.ButtonText: "#d8d8d8",
    QPalette.ColorRole.BrightText: "#ff6060",
    QPalette.ColorRole.Highlight: "#3d7ab8",
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.Link: "#6aa6e0",
    QPalette.ColorRole.PlaceholderText: "#808080",
}


def apply_dark_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    palette = QPalette()
    for role, color in _COLORS.items():
        palette.setColor(role, QColor(color))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6a6a6a"))
    app.setPalette(palette)
    app.setStyleSheet(resource_path("styles", "dark.qss").read_text(encoding="utf-8"))
