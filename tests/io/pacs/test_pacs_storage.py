"""Received instances: written whole under their UIDs, the same instance replacing its file, temporary files of
dead processes cleared, and the files listed in the study database as they arrive."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from medstation.io.database import StudyDatabase
from medstation.io.pacs.storage import ReceivedStore, instance_path, remove_stale_parts, write_atomically

GE = sorted((Path(__file__).resolve().parents[2] / "data" / "dicom" / "ge_tilt").glob("*.dcm"))


def test_instances_are_stored_once_under_their_uids_and_indexed(pacs_home):
    from pydicom import dcmread

    with ReceivedStore() as store:
        for _ in range(2):
            for path in GE:
                store.save_encoded([path.read_bytes()], *_uids(path))
    header = dcmread(GE[0], stop_before_pixels=True)
    stored = sorted(path for path in (pacs_home / "received").rglob("*") if path.is_file())
    assert len(stored) == 3
    for source in GE:
        assert instance_path(pacs_home / "received", *_uids(source)).read_bytes() == source.read_bytes()
    with StudyDatabase() as database:
        series = database.series(str(header.StudyInstanceUID))
        assert [row.files for row in series] == [3]
        assert database.roots() == [(pacs_home / "received").resolve()]


def _uids(path: Path) -> tuple[str, str, str]:
    from pydicom import dcmread

    header = dcmread(path, stop_before_pixels=True)
    return str(header.StudyInstanceUID), str(header.SeriesInstanceUID), str(header.SOPInstanceUID)


def test_a_failed_write_leaves_nothing_behind(tmp_path):
    def chunks():
        yield b"half an instance"
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomically(tmp_path / "a" / "1.dcm", chunks())
    assert [path.name for path in (tmp_path / "a").iterdir()] == []


def test_temporary_files_of_dead_processes_are_removed(tmp_path):
    dead = 2**22 + 12345  # above the kernel's default pid_max: no such process
    folder = tmp_path / "study" / "series"
    folder.mkdir(parents=True)
    (folder / f".1.2.dcm.7.{dead}.part").write_bytes(b"x")
    mine = folder / f".1.3.dcm.7.{os.getpid()}.part"
    mine.write_bytes(b"x")
    assert remove_stale_parts(tmp_path) == 1
    assert [path.name for path in folder.iterdir()] == [mine.name]


def test_uids_that_are_not_plain_become_safe_names(tmp_path):
    path = instance_path(tmp_path, "../../etc", "1.2", "a/b")
    assert tmp_path in path.parents and ".." not in path.parts and path.parent.name == "1.2"
