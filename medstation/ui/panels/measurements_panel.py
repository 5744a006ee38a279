"""Measurements panel: rulers and regions of the open volume, deletable, exported as CSV or JSON."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from medstation.core.measurements import Measurement, Ruler, area_text, length_text
from medstation.core.view_state import ViewState

COLUMNS = ("#", "Kind", "View", "Slice", "Result")


def summary(measurement: Measurement) -> str:
    """One-line result: length or region statistics (real-world units) with the area."""
    if isinstance(measurement, Ruler):
        return length_text(measurement)
    stats = measurement.statistics
    return (f"mean {stats.mean:.1f}, SD {stats.sd:.1f}, min {stats.minimum:g}, max {stats.maximum:g}, "
            f"{area_text(measurement)}")


class MeasurementsPanel(QWidget):
    """Table of ``state.measurements`` with Delete, Clear and Export buttons."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state: ViewState | None = None
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.delete_button = QPushButton("Delete")
        self.clear_button = QPushButton("Clear all")
        self.export_button = QPushButton("Export…")
        buttons = QHBoxLayout()
        for button in (self.delete_button, self.clear_button, self.export_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        self.delete_button.clicked.connect(self.delete_selected)
        self.clear_button.clicked.connect(lambda: self.state is not None and self.state.measurements.clear())
        self.export_button.clicked.connect(self._ask_and_export)
        self.set_state(None)

    def set_state(self, state: ViewState | None) -> None:
        """List the measurements of ``state`` (None: nothing open)."""
        if self.state is not None:
            self.state.measurements.added.disconnect(self._populate)
            self.state.measurements.removed.disconnect(self._populate)
        self.state = state
        if state is not None:
            state.measurements.added.connect(self._populate)
            state.measurements.removed.connect(self._populate)
        self._populate()

    def _populate(self, *_) -> None:
        items = self.state.measurements.items if self.state is not None else []
        self.table.setRowCount(len(items))
        for row, measurement in enumerate(items):
            kind = "ruler" if isinstance(measurement, Ruler) else measurement.shape
            values = (str(measurement.id), kind, measurement.view, str(measurement.slice_index + 1),
                      summary(measurement))
            for column, value in enumerate(values):
                self.table.setItem(row, column, QTableWidgetItem(value))
        for button in (self.delete_button, self.clear_button, self.export_button):
            button.setEnabled(bool(items))

    def delete_selected(self) -> None:
        """Delete the selected measurements."""
        if self.state is None:
            return
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()}, reverse=True)
        for row in rows:
            self.state.measurements.remove(self.state.measurements.items[row])

    def export(self, path: str | os.PathLike) -> Path:
        """Write the measurements to ``path`` (``.csv`` or ``.json``)."""
        return self.state.measurements.export(path)

    def _ask_and_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export measurements", "measurements.csv",
                                              "CSV (*.csv);;JSON (*.json)")
        if path:
            self.export(path)
