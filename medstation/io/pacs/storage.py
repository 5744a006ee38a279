"""Instances received from a PACS: written whole into the storage folder and indexed in the study database.

Each instance goes to ``received/<StudyInstanceUID>/<SeriesInstanceUID>/<SOPInstanceUID>.dcm`` in the user data
folder (``paths.received_dir``): written to a hidden temporary name beside it (``.<SOP>.dcm.<thread>.<pid>.part``),
then renamed into place. A transfer that is cancelled or breaks off therefore leaves whole files only, and the same
instance received again replaces its file instead of adding a second one. Temporary files left by a process that
was killed are removed the next time a store opens in that folder.

Writing an instance starts the disk write of its file without waiting for it. An indexing thread then flushes the new
files to disk and lists them in the study database, in batches: what arrived within :data:`BATCH_SECONDS` of the
batch's first file (at most :data:`BATCH_FILES`), or at once when :meth:`ReceivedStore.flush` asks. So the sender
gets its answer without waiting for the disk, a fast transfer is not slowed by indexing each file as it comes (a
busy indexing thread holds Python's interpreter lock the receiving thread needs), the study browser lists a study
while it arrives, and the database never lists a file that is not on disk. On Linux a batch is flushed with one
``syncfs`` of the storage folder's file system (one journal commit instead of one per file and folder); elsewhere
each file and folder is flushed.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import logging
import os
import queue
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

from medstation.io.database import StudyDatabase
from medstation.paths import received_dir

log = logging.getLogger(__name__)
BATCH_FILES = 200
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


def _linux_call(name: str):
    """A libc function on Linux (``sync_file_range``, ``syncfs``), else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = getattr(ctypes.CDLL(None, use_errno=True), name)
    except (OSError, AttributeError):
        return None
    function.restype = ctypes.c_int
    return function


_SYNC_FILE_RANGE = _linux_call("sync_file_range")
_SYNC_FILE_RANGE_WRITE = 2
_SYNCFS = _linux_call("syncfs")


def start_disk_write(descriptor: int) -> None:
    """Ask the kernel to start writing a file's data to disk now, without waiting (Linux; elsewhere nothing)."""
    if _SYNC_FILE_RANGE is not None:
        _SYNC_FILE_RANGE(descriptor, ctypes.c_longlong(0), ctypes.c_longlong(0), _SYNC_FILE_RANGE_WRITE)


def write_atomically(path: Path, chunks, durable: bool = True) -> None:
    """Write the bytes of ``chunks`` to ``path`` through a temporary file renamed into place; nothing is left
    behind on failure. ``durable``: flushed to disk before the rename (else its disk write is started and the
    caller syncs it later)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{threading.get_ident()}.{os.getpid()}.part")
    try:
        with open(temporary, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
            else:
                start_disk_write(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


def _sync(path: Path) -> None:
    """Flush a file (or, on POSIX, a folder's entries) to disk."""
    flags = os.O_RDONLY if path.is_dir() else os.O_RDWR
    descriptor = os.open(path, flags)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def sync_files(root: Path, paths: list[Path]) -> None:
    """Flush these files under ``root``, and the folders that name them, to disk: one ``syncfs`` of the file system
    on Linux, else (or if that fails) each file and folder."""
    if _SYNCFS is not None and all(path.is_relative_to(root) for path in paths):
        descriptor = os.open(root, os.O_RDONLY)
        try:
            if _SYNCFS(descriptor) == 0:
                return
        finally:
            os.close(descriptor)
    for path in paths:
        _sync(path)
    if os.name == "posix":
        for folder in {path.parent for path in paths}:
            _sync(folder)


@dataclass
class StoredInstance:
    path: Path
    study_uid: str
    series_uid: str


@dataclass
class ReceivedStore:
    """Where one transfer (or a listening Storage SCP) puts what it receives. Thread-safe: a C-MOVE's instances
    arrive on the SCP's threads.

    Writing an instance returns as soon as it is renamed into place, so the sender gets its answer without waiting
    for the disk; an indexing thread then flushes the files to disk and lists them in the study database, in
    batches (see the module), so a study shows in the browser as it
    arrives and the database lists only files that are on disk. :meth:`flush` waits for it.
    """

    root: Path | None = None
    database_path: Path | None = None
    on_recorded: Callable[[int], None] | None = None
    """Called (on the indexing thread) with how many files were just listed in the study database."""
    written: list[StoredInstance] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.root = Path(self.root) if self.root is not None else received_dir()
        self.root.mkdir(parents=True, exist_ok=True)
        remove_stale_parts(self.root)
        self._lock = threading.Lock()
        self._queue: queue.Queue[Path | None] = queue.Queue()
        self._hurry = threading.Event()
        self._flushing = 0
        self._indexer: threading.Thread | None = None
        self._failure: BaseException | None = None
        self._database: StudyDatabase | None = None

    def save_encoded(self, chunks: list, study_uid: str, series_uid: str, sop_uid: str) -> Path:
        """Store one instance as received (DIMSE, WADO-RS): the bytes of a DICOM file in pieces (preamble and file
        meta information, then the data set as encoded by the sender), written without decoding or re-encoding."""
        path = instance_path(self.root, study_uid, series_uid, sop_uid)
        write_atomically(path, chunks, durable=False)
        return self._written(path, study_uid, series_uid)

    def save_dataset(self, dataset) -> Path:
        """Store one instance given as a pydicom Dataset with its file meta information (DICOMweb)."""
        buffer = BytesIO()
        dataset.save_as(buffer, enforce_file_format=True)
        path = instance_path(self.root, dataset.StudyInstanceUID, dataset.SeriesInstanceUID, dataset.SOPInstanceUID)
        write_atomically(path, [buffer.getvalue()], durable=False)
        return self._written(path, str(dataset.StudyInstanceUID), str(dataset.SeriesInstanceUID))

    def _written(self, path: Path, study_uid: str, series_uid: str) -> Path:
        with self._lock:
            self.written.append(StoredInstance(path, str(study_uid), str(series_uid)))
            if self._indexer is None:
                self._indexer = threading.Thread(target=self._index, name="received-store-indexer", daemon=True)
                self._indexer.start()
        self._queue.put(path)
        return path

    def _index(self) -> None:
        """The indexing thread: flush each batch of new files to disk, then list it in the study database."""
        while True:
            batch = [self._queue.get()]
            due = time.monotonic() + BATCH_SECONDS
            while len(batch) < BATCH_FILES and batch[-1] is not None:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    if self._hurry.is_set() or time.monotonic() >= due:
                        break
                    self._hurry.wait(min(0.05, max(0.0, due - time.monotonic())))
            paths = [path for path in batch if path is not None]
            try:
                if paths and self._failure is None:
                    self._record(paths)
            except BaseException as error:  # raised by flush() on the thread that asks
                self._failure = error
            finally:
                for _ in batch:
                    self._queue.task_done()
            if batch[-1] is None:
                return

    def _record(self, paths: list[Path]) -> None:
        sync_files(self.root, paths)
        if self._database is None:
            self._database = StudyDatabase(self.database_path)
        self.unreadable.extend(self._database.record_files(self.root, paths))
        if self.on_recorded is not None:
            self.on_recorded(len(paths))

    def flush(self) -> None:
        """Wait until every file written so far is on disk and listed in the study database; raise what stopped
        the indexing (a database that cannot be written, ...)."""
        with self._lock:
            self._flushing += 1
            self._hurry.set()
        try:
            self._queue.join()
        finally:
            with self._lock:
                self._flushing -= 1
                if not self._flushing:
                    self._hurry.clear()
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.written)

    def studies(self) -> list[str]:
        with self._lock:
            return sorted({item.study_uid for item in self.written})

    def close(self) -> None:
        """Record what is still pending, end the indexing thread, close the database connection."""
        try:
            self.flush()
        finally:
            with self._lock:
                indexer, self._indexer = self._indexer, None
            if indexer is not None:
                self._queue.put(None)
                indexer.join()
            if self._database is not None:
                self._database.close()
                self._database = None

    def __enter__(self) -> ReceivedStore:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
