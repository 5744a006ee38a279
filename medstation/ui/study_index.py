"""Opening the user's study index at start-up, offering to rebuild it when the file is damaged."""

from __future__ import annotations

import logging

from PySide6.QtWidgets import QMessageBox, QWidget

from medstation.io.database import (
    DamagedDatabase,
    RebuiltDatabase,
    StudyDatabase,
    default_database_path,
    rebuild_database,
)

log = logging.getLogger(__name__)


def open_study_index(parent: QWidget | None = None) -> tuple[StudyDatabase, RebuiltDatabase | None]:
    """The user's study database, checked whole; a damaged one is rebuilt when the user agrees.

    Returns the open database and, after a rebuild, where the damaged file was kept and the folders to import
    again. Raises :class:`DamagedDatabase` when the user declines (the file is left as it is).
    """
    path = default_database_path()
    try:
        database = StudyDatabase(path)
        try:
            database.check()
        except DamagedDatabase:
            database.close()
            raise
        return database, None
    except DamagedDatabase as error:
        log.warning("study database damaged: %s", error)
        if not _rebuild_agreed(parent, error):
            raise
    rebuilt = rebuild_database(path)
    log.warning("damaged study database kept as %s; %d folder(s) to import again", rebuilt.kept, len(rebuilt.roots))
    return StudyDatabase(path), rebuilt


def _rebuild_agreed(parent: QWidget | None, error: DamagedDatabase) -> bool:
    text = (
        f"The study index {error.path} is damaged, so the study browser cannot list your studies.\n\n"
        "Rebuild it? The damaged file is kept beside the new one (renamed …damaged-<date-time>), your image files "
        "are not touched, and the folders it listed are imported again in the background.\n\n"
        "Choose No to quit without changing anything."
    )
    buttons = QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No
    answer = QMessageBox.question(parent, "Study index damaged", text, buttons, QMessageBox.StandardButton.Yes)
    return answer == QMessageBox.StandardButton.Yes
