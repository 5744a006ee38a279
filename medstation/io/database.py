"""The local study index: an SQLite database (WAL) of DICOM files imported by reference.

Files are never moved or modified; the database records each file's path, size and modification time
with the patient / study / series attributes of its header, or the reason it could not be read.
Re-importing a folder reads only new or changed files and forgets files that disappeared. Each import
runs in one transaction, so an interrupted import leaves the database as it was before.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from medstation.errors import UnreadableInput
from medstation.paths import user_data_dir
from medstation.progress import CancelToken, ProgressCallback, check_cancelled, report

DATABASE_NAME = "studies.sqlite"
SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, root TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    patient_id TEXT NOT NULL, patient_name TEXT NOT NULL,
    study_uid TEXT NOT NULL, study_date TEXT NOT NULL, study_description TEXT NOT NULL,
    series_uid TEXT NOT NULL, series_number INTEGER, series_description TEXT NOT NULL,
    modality TEXT NOT NULL, images INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS files_by_series ON files (study_uid, series_uid, series_number);
CREATE INDEX IF NOT EXISTS files_by_root ON files (root);
CREATE TABLE IF NOT EXISTS unreadable (
    path TEXT PRIMARY KEY, root TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    reason TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS roots (path TEXT PRIMARY KEY, imported_at TEXT NOT NULL);
"""


@dataclass(frozen=True)
class ImportReport:
    """What one import did."""

    root: str
    read: int
    unchanged: int
    removed: int
    unreadable: list[tuple[str, str]]


@dataclass(frozen=True)
class PatientRow:
    patient_id: str
    patient_name: str
    studies: int


@dataclass(frozen=True)
class StudyRow:
    study_uid: str
    study_date: str
    study_description: str
    patient_id: str
    series: int


@dataclass(frozen=True)
class SeriesRow:
    study_uid: str
    series_uid: str
    series_number: int | None
    series_description: str
    modality: str
    files: int
    images: int


def default_database_path() -> Path:
    return user_data_dir() / DATABASE_NAME


def _stat(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_size, info.st_mtime_ns


class StudyDatabase:
    """The study index. Safe to use from one thread at a time per instance."""

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path is not None else default_database_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._connection = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._connection.execute("PRAGMA journal_mode=WAL")
            self._connection.execute("PRAGMA foreign_keys=ON")
            version = self._connection.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, SCHEMA_VERSION):
                raise UnreadableInput(f"{self.path}: study database version {version} is newer than this MedStation")
            self._connection.executescript(_SCHEMA)
            self._connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.OperationalError as error:
            raise UnreadableInput(f"{self.path}: cannot open the study database ({error})") from error
        except sqlite3.DatabaseError as error:
            raise UnreadableInput(f"{self.path}: not a MedStation study database ({error})") from error
        except OSError as error:
            raise UnreadableInput(f"{self.path}: cannot create the study database's folder ({error})") from error
        self._lock = threading.Lock()

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> StudyDatabase:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield self._connection
            except BaseException:
                self._connection.execute("ROLLBACK")
                raise
            self._connection.execute("COMMIT")

    def import_folder(
        self, folder: str | os.PathLike, progress: ProgressCallback | None = None, cancel: CancelToken = None
    ) -> ImportReport:
        """Index every DICOM file under ``folder`` by reference; only new or changed files are read."""
        from medstation.io.dicom_header import read_file_records

        root = Path(folder).resolve()
        if not root.is_dir():
            raise UnreadableInput(f"{folder}: not a folder")
        files = sorted(Path(parent) / name for parent, _, names in os.walk(root) for name in names)
        with self._transaction() as db:
            known = {
                row[0]: (row[1], row[2])
                for table in ("files", "unreadable")
                for row in db.execute(f"SELECT path, size, mtime_ns FROM {table} WHERE root = ?", (str(root),))
            }
            present = {str(path) for path in files}
            removed = [path for path in known if path not in present]
            for path in removed:
                db.execute("DELETE FROM files WHERE path = ?", (path,))
                db.execute("DELETE FROM unreadable WHERE path = ?", (path,))
            read = unchanged = 0
            unreadable: list[tuple[str, str]] = []
            for number, path in enumerate(files):
                check_cancelled(cancel)
                report(progress, number / max(1, len(files)), f"indexing {path.name}")
                stat = _stat(path)
                if known.get(str(path)) == stat:
                    unchanged += 1
                    continue
                read += 1
                db.execute("DELETE FROM files WHERE path = ?", (str(path),))
                db.execute("DELETE FROM unreadable WHERE path = ?", (str(path),))
                try:
                    records = read_file_records(path)
                except UnreadableInput as error:
                    reason = str(error)
                    unreadable.append((str(path), reason))
                    db.execute("INSERT INTO unreadable VALUES (?, ?, ?, ?, ?)", (str(path), str(root), *stat, reason))
                    continue
                if records is None:
                    continue
                identity, frames = records
                db.execute(
                    "INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        str(path),
                        str(root),
                        *stat,
                        identity.patient_id,
                        identity.patient_name,
                        identity.study_uid,
                        identity.study_date,
                        identity.study_description,
                        identity.series_uid,
                        identity.series_number,
                        identity.series_description,
                        identity.modality,
                        len(frames),
                    ),
                )
            db.execute("INSERT OR REPLACE INTO roots VALUES (?, datetime('now'))", (str(root),))
        report(progress, 1.0, "import complete")
        return ImportReport(str(root), read, unchanged, len(removed), unreadable)

    def patients(self, search: str = "") -> list[PatientRow]:
        """Patients whose name or ID contains ``search`` (any case)."""
        pattern = f"%{search}%"
        rows = self._connection.execute(
            "SELECT patient_id, patient_name, COUNT(DISTINCT study_uid) FROM files "
            "WHERE patient_id LIKE ? OR patient_name LIKE ? GROUP BY patient_id, patient_name "
            "ORDER BY patient_name, patient_id",
            (pattern, pattern),
        )
        return [PatientRow(*row) for row in rows]

    def studies(self, patient_id: str | None = None) -> list[StudyRow]:
        """Studies, newest first; only one patient's when ``patient_id`` is given."""
        query = (
            "SELECT study_uid, MAX(study_date), MAX(study_description), MAX(patient_id), "
            "COUNT(DISTINCT series_uid || '#' || IFNULL(series_number, '')) FROM files"
        )
        args: tuple = ()
        if patient_id is not None:
            query += " WHERE patient_id = ?"
            args = (patient_id,)
        query += " GROUP BY study_uid ORDER BY MAX(study_date) DESC, study_uid"
        return [StudyRow(*row) for row in self._connection.execute(query, args)]

    def series(self, study_uid: str) -> list[SeriesRow]:
        """A study's series in series-number order."""
        rows = self._connection.execute(
            "SELECT study_uid, series_uid, series_number, MAX(series_description), MAX(modality), COUNT(*), "
            "SUM(images) FROM files WHERE study_uid = ? GROUP BY series_uid, series_number "
            "ORDER BY series_number IS NULL, series_number, series_uid",
            (study_uid,),
        )
        return [SeriesRow(*row) for row in rows]

    def series_files(self, row: SeriesRow) -> list[Path]:
        """The files of one series, as recorded."""
        rows = self._connection.execute(
            "SELECT path FROM files WHERE study_uid = ? AND series_uid = ? AND series_number IS ? ORDER BY path",
            (row.study_uid, row.series_uid, row.series_number),
        )
        return [Path(path) for (path,) in rows]

    def unreadable_files(self) -> list[tuple[str, str]]:
        return list(self._connection.execute("SELECT path, reason FROM unreadable ORDER BY path"))
