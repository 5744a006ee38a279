"""Study databases with faults, and folders of many small DICOM files, for the database, CLI and GUI tests."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

from medstation.io.database import StudyDatabase

GE_TILT = Path(__file__).resolve().parent / "data" / "dicom" / "ge_tilt"
PAGE = 4096


def many_files(folder: Path, count: int) -> Path:
    """``folder`` holding ``count`` links to the three committed GE slices (one series, ``count`` files)."""
    folder.mkdir(parents=True)
    for number in range(count):
        (folder / f"im{number:03d}.dcm").symlink_to(GE_TILT / f"{14 + number % 3}.dcm")
    return folder.resolve()


def table_rows(path: Path) -> dict[str, list[tuple]]:
    """Every row of the study database at ``path`` (the roots without their import time), sorted."""
    connection = sqlite3.connect(path)
    try:
        rows = {table: sorted(connection.execute(f"SELECT * FROM {table}")) for table in ("files", "unreadable")}
        rows["roots"] = sorted(connection.execute("SELECT path FROM roots"))
        return rows
    finally:
        connection.close()


def integrity(path: Path) -> str:
    connection = sqlite3.connect(path)
    try:
        return connection.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        connection.close()


def indexed_database(path: Path, folder: Path, filler_rows: int = 3000) -> None:
    """A study database that imported ``folder``, padded with ``filler_rows`` rows so that it spans many pages,
    and checkpointed: the whole database is in the main file."""
    with StudyDatabase(path) as database:
        database.import_folder(folder)
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("BEGIN")
    for number in range(filler_rows):
        connection.execute(
            "INSERT INTO files VALUES (?, ?, 1, 1, 'FILLER', 'Filler^Patient', '1.2.3', '20240101', 'filler', "
            "'1.2.3.4', 1, 'filler', 'CT', 1)",
            (f"/elsewhere/filler/{number:06d}.dcm", "/elsewhere/filler"),
        )
    connection.execute("COMMIT")
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()


def damage_middle_pages(path: Path, seed: int = 0) -> bytes:
    """Overwrite bytes in the second half of the pages (page 1 and the tables' root pages stay intact, so the file
    opens and its roots can still be read); returns the damaged content."""
    data = bytearray(path.read_bytes())
    pages = len(data) // PAGE
    rng = random.Random(seed)
    for page in range(pages // 2, pages - 1):
        for offset in range(page * PAGE, (page + 1) * PAGE, 7):
            data[offset] = rng.randrange(256)
    path.write_bytes(bytes(data))
    return bytes(data)


def truncate_to_half(path: Path) -> bytes:
    data = path.read_bytes()[: path.stat().st_size // 2]
    path.write_bytes(data)
    return data


def fill_with_random_bytes(path: Path) -> bytes:
    data = random.Random(1).randbytes(path.stat().st_size)
    path.write_bytes(data)
    return data
