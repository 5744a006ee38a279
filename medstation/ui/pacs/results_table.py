"""Query results: one row per patient, study or series, with the columns of its level."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTreeWidget, QTreeWidgetItem, QWidget

from medstation.io.pacs.query import PacsMatch

COLUMNS = {
    "patient": (("patient_name", "Patient"), ("patient_id", "ID"), ("studies", "Studies")),
    "study": (("patient_name", "Patient"), ("patient_id", "ID"), ("study_date", "Date"),
              ("study_description", "Description"), ("modalities", "Modalities"), ("accession_number", "Accession"),
              ("instances", "Images")),
    "series": (("patient_name", "Patient"), ("study_date", "Date"), ("series_number", "#"),
               ("modalities", "Modality"), ("series_description", "Series"), ("instances", "Images")),
}
MATCH_ROLE = Qt.ItemDataRole.UserRole


def cell(value) -> str:
    if value is None:
        return ""
    text = str(value)
    if len(text) == 8 and text.isdigit():
        return f"{text[:4]}-{text[4:6]}-{text[6:]}"
    return text.replace("^", " ").strip()


class ResultsTable(QTreeWidget):
    """The matches of the last query; several rows may be selected."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setRootIsDecorated(False)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setSortingEnabled(True)
        self.level = "study"
        self.show_matches("study", [])

    def show_matches(self, level: str, matches: list[PacsMatch]) -> None:
        self.clear()
        self.level = level
        columns = COLUMNS[level]
        self.setHeaderLabels([title for _, title in columns])
        for match in matches:
            item = QTreeWidgetItem([cell(getattr(match, key)) for key, _ in columns])
            item.setData(0, MATCH_ROLE, match)
            item.setToolTip(0, match.study_uid or match.patient_id)
            self.addTopLevelItem(item)
        self.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        if self.topLevelItemCount():
            self.setCurrentItem(self.topLevelItem(0))

    def selected_matches(self) -> list[PacsMatch]:
        return [item.data(0, MATCH_ROLE) for item in self.selectedItems()]
