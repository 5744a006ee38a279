"""Instances received from a PACS: written whole into the storage folder and indexed in the study database.

Each instance goes to ``received/<StudyInstanceUID>/<SeriesInstanceUID>/<SOPInstanceUID>.dcm`` in the user data
folder (``paths.received_dir``): written to a hidden temporary name beside it (``.<SOP>.dcm.<thread>.<pid>.part``),
flushed to disk, then renamed into place. A transfer that is cancelled or breaks off therefore leaves whole files
only, and the same instance received again replaces its file instead of adding a second one. Temporary files left by a
process that was killed are removed the next time a store opens in that folder.

The files written are recorded in the study database in batches (every :data:`BATCH_FILES` files or
:data:`BATCH_SECONDS` seconds, and when the store closes), so the study browser lists a study while it arrives.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

from medstation.errors import UnreadableInput
from medstation.io.database import StudyDatabase
from medstation.paths import received_dir

log = logging.getLogger(__name__)
BATCH_FILES = 25
BATCH_SECONDS = 0.5
_UID = re.compile(r"^[0-9.]{1,64}$")
_PART = re.compile(r"^\..+\.(\d+)\.part$")


def _folder_name(uid: str) -> str:
    """A UID as a folder or file name (a UID that is not plain digits and dots becomes its hash)."""
    uid = str(uid).strip()
    return uid if _UID.match(uid) else "x" + hashlib.sha256(uid.encode()).hexdigest()[:40]


def instance_path(root: Path, study_uid: str, series_uid: str, sop_uid: str) -> Path:
    return root / _folder_name(study_uid) / _folder_name(series_uid) / f"{_folder_name(sop_uid)}.dcm"


def remove_stale_parts(root: Path) -> int:
    """Delete the temporary files that processes no longer running left under ``root``; returns how many."""
    removed = 0
    if not root.is_dir():
        return 0
    for parent, _, names in os.walk(root):
        for name in names:
            match = _PART.match(name)
            if match and not _process_alive(int(match.group(1))):
                with contextlib.suppress(OSError):
                    (Path(parent) / name).unlink()
                    removed += 1
    return removed


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_atomically(path: Path, chunks: list[bytes]) -> None:
    """Write the bytes of ``chunks`` to ``path`` through a temporary file renamed into place; nothing is left
    behind on failure."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{threading.get_ident()}.{os.getpid()}.part")
    try:
        with open(temporary, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


@dataclass
class StoredInstance:
    path: Path
    study_uid: str
    series_uid: str


@dataclass
class ReceivedStore:
    """Where one transfer (or a listening Storage SCP) puts what it receives. Thread-safe: a C-MOVE's instances
    arrive on the SCP's threads."""

    root: Path | None = None
    database_path: Path | None = None
    on_recorded: Callable[[int], None] | None = None
    """Called (on the thread that wrote them) with how many files were just listed in the study database."""
    written: list[StoredInstance] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.root = Path(self.root) if self.root is not None else received_dir()
        self.root.mkdir(parents=True, exist_ok=True)
        remove_stale_parts(self.root)
        self._lock = threading.Lock()
        self._pending: list[Path] = []
        self._last_flush = 0.0  # the first instance is listed at once, so a study shows as soon as it arrives
        self._database: StudyDatabase | None = None

    def save_encoded(self, data: bytes, study_uid: str, series_uid: str, sop_uid: str) -> Path:
        """Store one instance as received over DIMSE: a DICOM file's bytes (preamble, file meta information and the
        data set as encoded by the sender), written without decoding or re-encoding."""
        path = instance_path(self.root, study_uid, series_uid, sop_uid)
        write_atomically(path, [data])
        return self._written(path, study_uid, series_uid)

    def save_dataset(self, dataset) -> Path:
        """Store one instance given as a pydicom Dataset with its file meta information (DICOMweb)."""
        buffer = BytesIO()
        dataset.save_as(buffer, enforce_file_format=True)
        path = instance_path(self.root, dataset.StudyInstanceUID, dataset.SeriesInstanceUID, dataset.SOPInstanceUID)
        write_atomically(path, [buffer.getvalue()])
        return self._written(path, str(dataset.StudyInstanceUID), str(dataset.SeriesInstanceUID))

    def _written(self, path: Path, study_uid: str, series_uid: str) -> Path:
        with self._lock:
            self.written.append(StoredInstance(path, str(study_uid), str(series_uid)))
            self._pending.append(path)
            due = len(self._pending) >= BATCH_FILES or time.monotonic() - self._last_flush >= BATCH_SECONDS
        if due:
            self.flush()
        return path

    def flush(self) -> None:
        """Record the files written since the last flush in the study database."""
        with self._lock:
            pending, self._pending = self._pending, []
            self._last_flush = time.monotonic()
            if not pending:
                return
            if self._database is None:
                self._database = StudyDatabase(self.database_path)
            try:
                self.unreadable.extend(self._database.record_files(self.root, pending))
            except UnreadableInput:
                self._pending = pending + self._pending
                raise
        if self.on_recorded is not None:
            self.on_recorded(len(pending))

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.written)

    def studies(self) -> list[str]:
        with self._lock:
            return sorted({item.study_uid for item in self.written})

    def close(self) -> None:
        """Record what is still pending, then close the database connection."""
        try:
            self.flush()
        finally:
            with self._lock:
                if self._database is not None:
                    self._database.close()
                    self._database = None

    def __enter__(self) -> ReceivedStore:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
