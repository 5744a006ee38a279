"""The local study index: an SQLite database (WAL) of DICOM files imported by reference.

Files are never moved or modified; the database records each file's path, size and modification time
with the patient / study / series attributes of its header, or the reason it could not be read, or that it is
a DICOMDIR (an index of a medium, holding no image). Re-importing a folder reads only new or changed files and
forgets files that disappeared.

Several imports may write to one database at once (the workstation's background imports, ``medstation import``
in a terminal): an import reads headers outside any transaction and commits what it read in short batches
(:data:`BATCH_FILES` files or :data:`BATCH_SECONDS` seconds, whichever comes first), and a writer waits up to
:data:`BUSY_TIMEOUT_S` seconds for another's batch to finish. What an interrupted import (cancelled, killed,
power lost) leaves behind:

- every row is whole and correct: one batch is one transaction, so it is written entirely or not at all;
- the batches committed before the interruption stay; the folder's ``roots`` row and the forgetting of files that
  disappeared from the folder happen only at the end, in one last transaction;
- importing the folder again completes it: files already recorded with the same size and modification time are
  skipped, the rest are read.

A damaged database file is reported as :class:`DamagedDatabase`; :func:`rebuild_database` moves it aside (it is
kept, never deleted) and starts an empty one, which importing the folders again fills.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from medstation.errors import UnreadableInput
from medstation.paths import user_data_dir
from medstation.progress import CancelToken, ProgressCallback, check_cancelled, report

DATABASE_NAME = "studies.sqlite"
SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 60.0
"""How long a writer waits for another connection's transaction before giving up (seconds)."""
BATCH_FILES = 500
"""An import commits after this many files read ..."""
BATCH_SECONDS = 1.0
"""... or after this many seconds of reading, whichever comes first."""
_TABLES = ("files", "unreadable", "dicomdirs")
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
CREATE TABLE IF NOT EXISTS dicomdirs (
    path TEXT PRIMARY KEY, root TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS roots (path TEXT PRIMARY KEY, imported_at TEXT NOT NULL);
"""


class DamagedDatabase(UnreadableInput):
    """The study database file is damaged or is not an SQLite database; :func:`rebuild_database` replaces it."""

    def __init__(self, path: Path, detail: str):
        super().__init__(
            f"{path}: the study database is damaged ({detail}); the workstation offers to rebuild it when it starts, "
            "or move the file aside and import your folders again (image files are indexed by reference, untouched)"
        )
        self.path = path


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


@dataclass(frozen=True)
class RebuiltDatabase:
    """Where :func:`rebuild_database` kept the damaged file, and the folders it had imported (as far as readable)."""

    kept: Path
    roots: list[Path]


def default_database_path() -> Path:
    return user_data_dir() / DATABASE_NAME


def database_error(path: Path, error: sqlite3.Error) -> UnreadableInput:
    """The user-facing error for an SQLite error on the database at ``path``."""
    name = getattr(error, "sqlite_errorname", "") or ""
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")):
        return DamagedDatabase(path, str(error))
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return _busy_error(path)
    if name.startswith(("SQLITE_CANTOPEN", "SQLITE_READONLY", "SQLITE_PERM")):
        return UnreadableInput(
            f"{path}: cannot open the study database for writing ({error}); it must be a file in a folder you can "
            "write: move what is in the way, or set MEDSTATION_HOME to another folder"
        )
    return UnreadableInput(f"{path}: study database error ({error}); check the disk, then try again")


def _busy_error(path: Path) -> UnreadableInput:
    return UnreadableInput(
        f"{path}: the study database stayed busy for over {BUSY_TIMEOUT_S:.0f} s (another program holds it); "
        "try again when it has finished"
    )


def _stat(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_size, info.st_mtime_ns


def _file_record(path: Path, root: Path, stat: tuple[int, int]) -> tuple[str, tuple]:
    """The (table, row) recording one file: its series attributes, why it is unreadable, or that it is a DICOMDIR."""
    from medstation.io.dicom.header import read_file_records

    try:
        records = read_file_records(path)
    except UnreadableInput as error:
        return "unreadable", (str(path), str(root), *stat, str(error))
    except OSError as error:
        return "unreadable", (str(path), str(root), *stat, f"{path}: cannot be read ({error.strerror or error})")
    if records is None:
        return "dicomdirs", (str(path), str(root), *stat)
    identity, frames = records
    return "files", (
        str(path), str(root), *stat,
        identity.patient_id, identity.patient_name,
        identity.study_uid, identity.study_date, identity.study_description,
        identity.series_uid, identity.series_number, identity.series_description,
        identity.modality, len(frames),
    )


class StudyDatabase:
    """The study index. Safe to use from one thread at a time per instance; other instances and processes may
    write to the same file at the same time."""

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path is not None else default_database_path()
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise UnreadableInput(
                f"{self.path}: cannot create the study database's folder ({error}); move what is in the way or "
                "choose another folder"
            ) from error
        self._connection: sqlite3.Connection | None = None
        try:
            with self._sqlite_errors():
                self._connection = sqlite3.connect(
                    self.path, timeout=BUSY_TIMEOUT_S, check_same_thread=False, isolation_level=None
                )
                self._create_schema()
        except BaseException:
            self.close()
            raise

    def _create_schema(self) -> None:
        """WAL mode, tables and schema version, writing only what is missing (a damaged file stays untouched)."""
        db = self._connection
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, SCHEMA_VERSION):
            raise UnreadableInput(f"{self.path}: study database version {version} is newer than this MedStation")
        if db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            self._switch_to_wal()
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not {*_TABLES, "roots"} <= tables or version != SCHEMA_VERSION:
            db.executescript(f"BEGIN IMMEDIATE; {_SCHEMA} PRAGMA user_version={SCHEMA_VERSION}; COMMIT;")

    def _switch_to_wal(self) -> None:
        """Set WAL mode, retrying while another connection holds the file: SQLite answers "busy" at once here
        (two processes creating the database together) instead of waiting."""
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                if self._connection.execute("PRAGMA journal_mode=WAL").fetchone()[0].lower() == "wal":
                    return
            except sqlite3.OperationalError as error:
                if not str(getattr(error, "sqlite_errorname", "")).startswith("SQLITE_BUSY"):
                    raise
            if time.monotonic() > deadline:
                raise _busy_error(self.path)
            time.sleep(0.05)

    @contextmanager
    def _sqlite_errors(self) -> Iterator[None]:
        """Turn SQLite errors into :class:`UnreadableInput` / :class:`DamagedDatabase` naming the database."""
        try:
            yield
        except sqlite3.Error as error:
            if self._connection is not None and self._connection.in_transaction:
                self._connection.rollback()
            raise database_error(self.path, error) from error

    def _rows(self, query: str, args: tuple = ()) -> list[tuple]:
        with self._sqlite_errors():
            return self._connection.execute(query, args).fetchall()

    def check(self) -> None:
        """Read the whole file's structure (``PRAGMA quick_check``); raise :class:`DamagedDatabase` if damaged."""
        with self._sqlite_errors():
            rows = [row[0] for row in self._connection.execute("PRAGMA quick_check")]
        if rows != ["ok"]:
            problems = [line for row in rows for line in str(row).splitlines() if not line.startswith("***")]
            raise DamagedDatabase(self.path, f"integrity check: {(problems or rows)[0]}")

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()

    def __enter__(self) -> StudyDatabase:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; waits up to :data:`BUSY_TIMEOUT_S` for other writers."""
        with self._lock, self._sqlite_errors():
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
        """Index every DICOM file under ``folder`` by reference; only new or changed files are read.

        Commits in batches (see the module's description of an interrupted import).

        Raises
        ------
        UnreadableInput
            ``folder`` is not a folder, or the database cannot be written.
        DamagedDatabase
            The database file is damaged; nothing is written to it.
        Cancelled
            ``cancel`` was set; the batches committed so far stay, and importing again completes the folder.
        """
        root = Path(folder).resolve()
        if not root.is_dir():
            raise UnreadableInput(f"{folder}: not a folder")
        files = sorted(Path(parent) / name for parent, _, names in os.walk(root) for name in names)
        self.check()
        known = self._known(root)
        pending: list[tuple[str, tuple]] = []
        last_commit = time.monotonic()
        read = unchanged = 0
        unreadable: list[tuple[str, str]] = []
        for number, path in enumerate(files):
            check_cancelled(cancel)
            report(progress, number / max(1, len(files)), f"indexing {path.name}")
            try:
                stat = _stat(path)
            except OSError:
                continue  # gone since the folder was listed: forgotten at the end like any removed file
            if known.get(str(path)) == stat:
                unchanged += 1
                continue
            read += 1
            pending.append(_file_record(path, root, stat))
            if pending[-1][0] == "unreadable":
                unreadable.append((str(path), pending[-1][1][-1]))
            if len(pending) >= BATCH_FILES or time.monotonic() - last_commit >= BATCH_SECONDS:
                self._write(pending)
                pending, last_commit = [], time.monotonic()
        check_cancelled(cancel)
        self._write(pending)
        removed = self._finish(root, {str(path) for path in files})
        report(progress, 1.0, "import complete")
        return ImportReport(str(root), read, unchanged, removed, unreadable)

    def record_files(self, root: str | os.PathLike, paths: list[Path]) -> list[tuple[str, str]]:
        """Index these files of the folder ``root`` now, in one transaction, without reading or forgetting the
        folder's other files (files arriving from a PACS while a transfer runs); ``root`` is listed among the imported
        folders, so a rebuilt index imports it again. Returns the unreadable files with their reasons."""
        root = Path(root).resolve()
        records = []
        for path in paths:
            path = Path(path).resolve()
            try:
                records.append(_file_record(path, root, _stat(path)))
            except OSError:
                continue  # gone since it was written: nothing to index
        self._write(records, root)
        return [(row[0], row[-1]) for table, row in records if table == "unreadable"]

    def _known(self, root: Path) -> dict[str, tuple[int, int]]:
        return {
            path: (size, mtime_ns)
            for table in _TABLES
            for path, size, mtime_ns in self._rows(f"SELECT path, size, mtime_ns FROM {table} WHERE root = ?",
                                                   (str(root),))
        }

    def _write(self, pending: list[tuple[str, tuple]], root: Path | None = None) -> None:
        """Commit one batch of file records in one transaction (with ``root``, listing it among the imported
        folders in the same transaction)."""
        if not pending and root is None:
            return
        with self._transaction() as db:
            for table, row in pending:
                for other in _TABLES:
                    db.execute(f"DELETE FROM {other} WHERE path = ?", (row[0],))
                db.execute(f"INSERT INTO {table} VALUES ({', '.join('?' * len(row))})", row)
            if root is not None:
                db.execute("INSERT OR IGNORE INTO roots VALUES (?, datetime('now'))", (str(root),))

    def _finish(self, root: Path, present: set[str]) -> int:
        """Forget the files of ``root`` that are gone and record the import of ``root``; returns how many were
        forgotten."""
        with self._transaction() as db:
            recorded = [path for table in _TABLES
                        for (path,) in db.execute(f"SELECT path FROM {table} WHERE root = ?", (str(root),))]
            removed = {path for path in recorded if path not in present and not os.path.lexists(path)}
            for path in removed:
                for table in _TABLES:
                    db.execute(f"DELETE FROM {table} WHERE path = ?", (path,))
            db.execute("INSERT OR REPLACE INTO roots VALUES (?, datetime('now'))", (str(root),))
        return len(removed)

    def roots(self) -> list[Path]:
        """The folders imported so far."""
        return [Path(path) for (path,) in self._rows("SELECT path FROM roots ORDER BY path")]

    def patients(self, search: str = "") -> list[PatientRow]:
        """Patients whose name or ID contains ``search`` (any case)."""
        pattern = f"%{search}%"
        rows = self._rows(
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
        return [StudyRow(*row) for row in self._rows(query, args)]

    def priors(self, patient_id: str, study_uid: str) -> list[StudyRow]:
        """The patient's studies other than ``study_uid``, newest first (by StudyDate).

        None without a patient ID: studies without one cannot be told to be the same patient's.
        """
        if not patient_id.strip():
            return []
        return [study for study in self.studies(patient_id) if study.study_uid != study_uid]

    def series(self, study_uid: str) -> list[SeriesRow]:
        """A study's series in series-number order."""
        rows = self._rows(
            "SELECT study_uid, series_uid, series_number, MAX(series_description), MAX(modality), COUNT(*), "
            "SUM(images) FROM files WHERE study_uid = ? GROUP BY series_uid, series_number "
            "ORDER BY series_number IS NULL, series_number, series_uid",
            (study_uid,),
        )
        return [SeriesRow(*row) for row in rows]

    def series_files(self, row: SeriesRow) -> list[Path]:
        """The files of one series, as recorded."""
        rows = self._rows(
            "SELECT path FROM files WHERE study_uid = ? AND series_uid = ? AND series_number IS ? ORDER BY path",
            (row.study_uid, row.series_uid, row.series_number),
        )
        return [Path(path) for (path,) in rows]

    def image_files(self, modality: str | None = None, since: str | None = None,
                    until: str | None = None) -> list[Path]:
        """The recorded image files (not DICOMDIRs, not unreadable files), sorted by path, of the ``modality`` given
        (any case) and of studies dated from ``since`` to ``until`` inclusive (``YYYYMMDD``, as DICOM writes
        StudyDate); a date limit leaves out studies without a date."""
        query, args = "SELECT path FROM files WHERE images > 0", []
        if modality:
            query += " AND UPPER(modality) = ?"
            args.append(modality.upper())
        if since:
            query += " AND study_date != '' AND study_date >= ?"
            args.append(since)
        if until:
            query += " AND study_date != '' AND study_date <= ?"
            args.append(until)
        return [Path(path) for (path,) in self._rows(query + " ORDER BY path", tuple(args))]

    def unreadable_files(self) -> list[tuple[str, str]]:
        return self._rows("SELECT path, reason FROM unreadable ORDER BY path")


def series_to_compare(rows: list[SeriesRow], modality: str, description: str) -> SeriesRow | None:
    """The series of a study to show beside a current series of ``modality`` and ``description``: one of the same
    modality first, the same description (any case) next, then the one with the most images; None for no series."""
    if not rows:
        return None
    modality, description = modality.strip().upper(), description.strip().lower()
    return max(rows, key=lambda row: (row.modality.strip().upper() == modality,
                                      row.series_description.strip().lower() == description, row.images))


def import_folders(
    folders: list[Path],
    database_path: str | os.PathLike | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken = None,
) -> list[ImportReport]:
    """Import several folders one after the other (the folders of a rebuilt index); folders that are gone are
    left out."""
    existing = [Path(folder) for folder in folders if Path(folder).is_dir()]
    reports = []
    with StudyDatabase(database_path) as database:
        for number, folder in enumerate(existing):
            def step(fraction: float, message: str, number: int = number) -> None:
                report(progress, (number + fraction) / len(existing), message)

            reports.append(database.import_folder(folder, step, cancel))
    return reports


def rebuild_database(path: str | os.PathLike | None = None) -> RebuiltDatabase:
    """Move a damaged study database aside and create an empty one in its place.

    The damaged file is kept beside the new one as ``<name>.damaged-<YYYYmmdd-HHMMSS>`` (with its ``-wal`` and
    ``-shm`` files, renamed alike), never deleted. Nothing else is lost: files are indexed by reference, so
    importing the returned folders again restores the index. Close every connection to the file first.
    """
    path = Path(path) if path is not None else default_database_path()
    roots = _readable_roots(path)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    kept, number = path.with_name(f"{path.name}.damaged-{stamp}"), 1
    while any(Path(f"{kept}{suffix}").exists() for suffix in ("", "-wal", "-shm")):
        number += 1
        kept = path.with_name(f"{path.name}.damaged-{stamp}-{number}")
    try:
        for suffix in ("-wal", "-shm", ""):
            if Path(f"{path}{suffix}").exists():
                os.replace(f"{path}{suffix}", f"{kept}{suffix}")
    except OSError as error:
        raise UnreadableInput(
            f"{path}: cannot move the damaged study database aside ({error.strerror or error}); move it yourself, "
            "then start MedStation again"
        ) from error
    StudyDatabase(path).close()
    return RebuiltDatabase(kept, roots)


def _readable_roots(path: Path) -> list[Path]:
    """The folders a (possibly damaged) database had imported, as far as they can be read; never writes to it."""
    wal = Path(f"{path}-wal")
    try:
        # without a write-ahead log to read, open it immutable: no lock and no -shm file beside it
        options = "mode=ro" if wal.is_file() and wal.stat().st_size else "mode=ro&immutable=1"
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?{options}", uri=True, timeout=1.0)
        try:
            return [Path(root) for (root,) in connection.execute("SELECT path FROM roots ORDER BY path")]
        finally:
            connection.close()
    except (sqlite3.Error, OSError):
        return []
