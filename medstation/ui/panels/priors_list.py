"""The Priors list of the study browser: the current patient's other studies, newest first.

Activating a study asks for its series that best matches the current one (same modality, then the same
description, then the most images) to be opened beside the current study, in the Compare layout.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from medstation.core.volume import VolumeInfo
from medstation.errors import MedStationError
from medstation.io.database import StudyDatabase, StudyRow, series_to_compare
from medstation.ui.viewer.annotations import study_moment

log = logging.getLogger(__name__)
STUDY_ROLE = Qt.ItemDataRole.UserRole
LIST_HEIGHT = 96
"""Pixels: about four studies; the tree above takes the rest."""


class PriorsList(QWidget):
    """The current series' patient's other studies in the study database, newest first.

    Signals
    -------
    compare_requested(SeriesRow)
        A prior was activated: open this series of it beside the current study.
    """

    compare_requested = Signal(object)

    def __init__(self, database: StudyDatabase, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.database = database
        self.current: VolumeInfo | None = None
        self.title = QLabel("Priors")
        self.title.setStyleSheet("font-weight: bold;")
        self.list = QListWidget()
        self.list.setFixedHeight(LIST_HEIGHT)
        self.list.itemActivated.connect(self._activated)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.list)
        self.refresh()

    def set_current(self, info: VolumeInfo | None) -> None:
        """List the priors of the series described by ``info`` (None: nothing is open)."""
        self.current = info
        self.refresh()

    def refresh(self) -> None:
        """Read the priors again from the database (after an import, or another series opened)."""
        self.list.clear()
        info = self.current
        if info is None:
            self.title.setText("Priors")
            self._note("Open a study to see its patient's other studies.")
            return
        if not info.patient_id.strip():
            self.title.setText("Priors")
            self._note("No patient ID: other studies cannot be matched.")
            return
        try:
            priors = self.database.priors(info.patient_id, info.study_uid)
        except MedStationError as error:
            log.warning("priors: %s", error)
            self._note(str(error))
            return
        self.title.setText(f"Priors ({len(priors)})")
        if not priors:
            self._note("No other studies of this patient in the study index.")
        for study in priors:
            when = study_moment(study.study_date, "") or "no date"
            item = QListWidgetItem(f"{when}  {study.study_description}  ({study.series} series)".strip())
            item.setData(STUDY_ROLE, study)
            item.setToolTip("Double-click to open beside the current study (Compare)")
            self.list.addItem(item)

    def studies(self) -> list[StudyRow]:
        """The studies listed, in order."""
        return [self.list.item(row).data(STUDY_ROLE) for row in range(self.list.count())
                if self.list.item(row).data(STUDY_ROLE) is not None]

    def open_prior(self, study: StudyRow) -> None:
        """Ask for the series of ``study`` that best matches the current series to be compared."""
        info = self.current
        try:
            row = series_to_compare(self.database.series(study.study_uid), info.modality if info else "",
                                    info.series_description if info else "")
        except MedStationError as error:
            log.warning("priors: %s", error)
            return
        if row is not None:
            self.compare_requested.emit(row)

    def _activated(self, item: QListWidgetItem) -> None:
        study = item.data(STUDY_ROLE)
        if study is not None:
            self.open_prior(study)

    def _note(self, text: str) -> None:
        item = QListWidgetItem(text)
        item.setFlags(Qt.ItemFlag.NoItemFlags)
        self.list.addItem(item)
