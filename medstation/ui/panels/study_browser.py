"""The study browser: patients, studies and series from the local study database."""

from __future__ import annotations

import logging

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QHeaderView,
    QLineEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QTreeWidgetItemIterator,
    QVBoxLayout,
    QWidget,
)

from medstation.errors import MedStationError
from medstation.io.database import SeriesRow, StudyDatabase
from medstation.io.dicom.thumbnails import series_thumbnails
from medstation.io.measurement_store import MeasurementStore
from medstation.ui.jobs import JobRunner
from medstation.ui.panels.priors_list import PriorsList

log = logging.getLogger(__name__)
SERIES_ROLE = Qt.ItemDataRole.UserRole
ICON_PIXELS = 48


class StudyBrowser(QWidget):
    """Tree of patient > study > series; double-clicking a series asks for it to be opened. Below it, the
    :class:`PriorsList` of the current patient."""

    series_activated = Signal(object)

    def __init__(self, database: StudyDatabase, runner: JobRunner, parent: QWidget | None = None,
                 measurement_store: MeasurementStore | None = None):
        super().__init__(parent)
        self.database = database
        self.runner = runner
        self.measurement_store = measurement_store
        """Where saved measurements are counted per series and study (none: not listed)."""
        self.thumbnails: dict[tuple, QIcon] = {}
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search patient name or ID")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.refresh)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Patient / study / series", "Images"])
        self.tree.header().setStretchLastSection(False)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.tree.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.setIconSize(QSize(ICON_PIXELS, ICON_PIXELS))
        self.tree.itemActivated.connect(self._activated)
        self.priors = PriorsList(database)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.search)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.priors)
        self.refresh()

    def refresh(self) -> None:
        """Reload the tree from the database (it is small: one row per series); a database error is shown in
        the tree instead."""
        self.tree.clear()
        self.priors.refresh()
        try:
            missing = self._fill_tree()
        except MedStationError as error:
            log.warning("study browser: %s", error)
            self.tree.clear()
            item = QTreeWidgetItem([str(error), ""])
            item.setToolTip(0, str(error))
            self.tree.addTopLevelItem(item)
            return
        self.tree.expandAll()
        if missing and not self.runner.closed:
            job = self.runner.submit("Series thumbnails", series_thumbnails, missing)
            job.succeeded.connect(self._thumbnails_ready)

    def _fill_tree(self) -> dict[tuple, list]:
        """Add the patient > study > series items; returns the files of the series that lack a thumbnail."""
        missing: dict[tuple, list] = {}
        measured = self.measurement_store.saved_counts() if self.measurement_store is not None else {}
        for patient in self.database.patients(self.search.text().strip()):
            name = patient.patient_name.replace("^", " ").strip() or "(no name)"
            patient_item = QTreeWidgetItem([f"{name}  [{patient.patient_id or 'no ID'}]", ""])
            self.tree.addTopLevelItem(patient_item)
            for study in self.database.studies(patient.patient_id):
                date = _format_date(study.study_date)
                study_item = QTreeWidgetItem([f"{date}  {study.study_description}".strip(), ""])
                patient_item.addChild(study_item)
                in_study = 0
                for series in self.database.series(study.study_uid):
                    study_item.addChild(self._series_item(series, measured.get(series.series_uid, 0)))
                    in_study += measured.get(series.series_uid, 0)
                    if _key(series) not in self.thumbnails:
                        missing[_key(series)] = self.database.series_files(series)
                if in_study:
                    study_item.setText(0, f"{study_item.text(0)}  · {_measurements(in_study)}")
        return missing

    def _thumbnails_ready(self, images: dict) -> None:
        for key, image in images.items():
            height, width = image.shape
            qimage = QImage(image.tobytes(), width, height, width, QImage.Format.Format_Grayscale8).copy()
            self.thumbnails[key] = QIcon(QPixmap.fromImage(qimage))
        iterator = QTreeWidgetItemIterator(self.tree)
        while iterator.value():
            row = iterator.value().data(0, SERIES_ROLE)
            if row is not None and _key(row) in self.thumbnails:
                iterator.value().setIcon(0, self.thumbnails[_key(row)])
            iterator += 1

    def _series_item(self, series: SeriesRow, measurements: int = 0) -> QTreeWidgetItem:
        number = "-" if series.series_number is None else str(series.series_number)
        label = f"{number}  {series.modality}  {series.series_description}".strip()
        if measurements:
            label += f"  · {_measurements(measurements)}"
        item = QTreeWidgetItem([label, str(series.images)])
        item.setData(0, SERIES_ROLE, series)
        item.setToolTip(0, f"{series.files} file(s); double-click to open")
        if _key(series) in self.thumbnails:
            item.setIcon(0, self.thumbnails[_key(series)])
        return item

    def _activated(self, item: QTreeWidgetItem) -> None:
        series = item.data(0, SERIES_ROLE)
        if series is not None:
            self.series_activated.emit(series)


def _measurements(count: int) -> str:
    return f"{count} measurement{'s' if count != 1 else ''}"


def _key(series: SeriesRow) -> tuple:
    return (series.study_uid, series.series_uid, series.series_number)


def _format_date(value: str) -> str:
    return f"{value[:4]}-{value[4:6]}-{value[6:8]}" if len(value) == 8 and value.isdigit() else value
