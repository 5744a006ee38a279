"""Guard against the PySide6 6.12.0 defect: every void Qt call leaked a reference to None."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QLabel


def test_twenty_thousand_void_qt_calls_keep_none_alive(qapp):
    label = QLabel()
    before = sys.getrefcount(None)
    for i in range(10_000):
        label.setText(str(i))
        qapp.processEvents()
    after = sys.getrefcount(None)
    label.deleteLater()
    assert after >= before - 100, f"None refcount fell from {before} to {after}"
