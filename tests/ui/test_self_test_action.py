"""Help > Run self-test: the checks run as a job, the Qt checks on the main thread, then one report."""

from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMessageBox

from medstation import selftest


def test_help_menu_runs_the_self_test_as_a_job(make_window, qtbot, monkeypatch):
    monkeypatch.setattr(selftest, "CHECKS", [
        ("imports", lambda: "fine"),
        ("classifier", lambda: "predicted"),
        ("qt window", selftest.check_qt_window),
    ])
    window = make_window()
    action = next(a for a in window.findChildren(QAction) if a.text().replace("&", "") == "Run self-test")
    action.trigger()
    qtbot.waitUntil(lambda: bool(window.findChildren(QMessageBox)), timeout=20_000)
    box = window.findChildren(QMessageBox)[0]
    assert box.text() == "3/3 checks passed"
    assert "PASS  qt window" in box.detailedText() and "PASS  classifier" in box.detailedText()
    box.close()
