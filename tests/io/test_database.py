"""The study database: listing, search, interrupted and concurrent imports, DICOMDIRs, damaged database files."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import threading
import time

import pytest
from database_faults import (
    GE_TILT,
    damage_middle_pages,
    fill_with_random_bytes,
    indexed_database,
    integrity,
    many_files,
    table_rows,
    truncate_to_half,
)
from dicom_studies import write_ct_series

from medstation.errors import Cancelled, UnreadableInput
from medstation.io import database as database_module
from medstation.io.database import StudyDatabase, series_to_compare


@pytest.fixture
def two_studies(tmp_path, shared_path):
    folder = tmp_path / "incoming"
    shutil.copytree(shared_path("dicom", "dcm_qa_ct", "In", "GE"), folder / "ge")
    shutil.copytree(shared_path("dicom", "dcm_qa_ts", "In"), folder / "ts")
    return folder


def test_lists_patients_studies_and_series(two_studies, tmp_path):
    with StudyDatabase(tmp_path / "db.sqlite") as db:
        db.import_folder(two_studies)
        patients = db.patients()
        assert len(patients) == 2
        ts_patient = next(p for p in patients if p.patient_id == "crlab")
        (study,) = db.studies(ts_patient.patient_id)
        series = db.series(study.study_uid)
        assert len(series) == 9 and all(row.images == 1 for row in series)
        assert [row.series_number for row in series] == sorted(row.series_number for row in series)
        assert len(db.series_files(series[0])) == 1
        assert [p.patient_id for p in db.patients("CRLA")] == ["crlab"]


@pytest.fixture
def forty_files(tmp_path, monkeypatch):
    """A folder of 40 files, its fully imported database for reference, and imports that commit every 4 files."""
    folder = many_files(tmp_path / "forty", 40)
    reference = tmp_path / "reference.sqlite"
    with StudyDatabase(reference) as db:
        db.import_folder(folder)
    monkeypatch.setattr(database_module, "BATCH_FILES", 4, raising=False)
    return folder, table_rows(reference)


def test_an_interrupted_import_keeps_whole_rows_and_a_rerun_completes_it(forty_files, tmp_path):
    folder, expected = forty_files
    path = tmp_path / "db.sqlite"
    cancel = threading.Event()

    def progress(fraction: float, message: str) -> None:
        if fraction > 0.5:
            cancel.set()

    with StudyDatabase(path) as db, pytest.raises(Cancelled):
        db.import_folder(folder, progress=progress, cancel=cancel)
    left = table_rows(path)
    assert integrity(path) == "ok"
    assert 0 < len(left["files"]) < len(expected["files"]), "the batches read before the cancel are kept"
    assert set(left["files"]) <= set(expected["files"]), "every row kept is whole and correct"
    assert left["roots"] == [], "the folder is recorded as imported only when its import completes"
    with StudyDatabase(path) as db:
        report = db.import_folder(folder)
    assert (report.unchanged, report.read) == (len(left["files"]), 40 - len(left["files"]))
    assert table_rows(path) == expected


KILLED_IMPORT = """
import sys, time
from medstation.io import database
database.BATCH_FILES = 4
def progress(fraction, message):
    print(fraction, flush=True)
    time.sleep(0.05)
with database.StudyDatabase(sys.argv[1]) as db:
    db.import_folder(sys.argv[2], progress)
"""


@pytest.mark.parametrize("kill_at", [0.1, 0.45, 0.8])
def test_an_import_killed_at_any_moment_leaves_whole_rows_and_a_rerun_completes_it(forty_files, tmp_path, kill_at):
    folder, expected = forty_files
    path = tmp_path / "db.sqlite"
    child = subprocess.Popen([sys.executable, "-c", KILLED_IMPORT, str(path), str(folder)], stdout=subprocess.PIPE,
                             text=True)
    for line in child.stdout:
        if float(line) >= kill_at:
            child.kill()
            break
    child.wait(timeout=60)
    child.stdout.close()
    assert child.returncode == -9, "the import was killed before it finished"
    assert integrity(path) == "ok"
    left = table_rows(path)
    assert set(left["files"]) <= set(expected["files"]) and left["roots"] == []
    with StudyDatabase(path) as db:
        report = db.import_folder(folder)
    assert report.read + report.unchanged == 40
    assert table_rows(path) == expected


def test_a_second_import_goes_ahead_while_a_long_one_is_reading(tmp_path):
    path = tmp_path / "db.sqlite"
    long_folder = many_files(tmp_path / "long", 30)
    first_reading, second_done = threading.Event(), threading.Event()
    results: dict[str, object] = {}

    def slow_progress(fraction: float, message: str) -> None:
        if fraction > 0.3 and not first_reading.is_set():
            first_reading.set()
            second_done.wait(timeout=30)  # the first import is busy reading files, the second one runs now

    def first_import() -> None:
        try:
            with StudyDatabase(path) as db:
                results["first"] = db.import_folder(long_folder, slow_progress)
        except Exception as error:  # reported by the assertion below
            results["first"] = error

    thread = threading.Thread(target=first_import)
    thread.start()
    try:
        assert first_reading.wait(timeout=30)
        started = time.monotonic()
        with StudyDatabase(path) as db:
            second = db.import_folder(GE_TILT)
        assert time.monotonic() - started < 5
    finally:
        second_done.set()
        thread.join(timeout=60)
    assert (second.read, len(second.unreadable)) == (4, 1)  # three slices and the LICENSE text
    assert results["first"].read == 30
    assert integrity(path) == "ok"
    assert len(table_rows(path)["files"]) == 33 and len(table_rows(path)["roots"]) == 2


@pytest.mark.slow
def test_an_import_waits_for_another_writer_longer_than_five_seconds(tmp_path):
    import sqlite3

    path = tmp_path / "db.sqlite"
    StudyDatabase(path).close()
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    releaser = threading.Timer(6.0, lambda: other.execute("COMMIT"))
    releaser.start()
    try:
        with StudyDatabase(path) as db:
            report = db.import_folder(GE_TILT)
    finally:
        releaser.join()
        other.close()
    assert report.read == 4 and integrity(path) == "ok"


def test_a_new_database_opens_while_another_connection_is_still_creating_it(tmp_path):
    import sqlite3

    path = tmp_path / "db.sqlite"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("CREATE TABLE being_created (x)")
    releaser = threading.Timer(1.0, lambda: other.execute("COMMIT"))
    releaser.start()
    try:
        with StudyDatabase(path) as db:
            assert db.import_folder(GE_TILT).read == 4
    finally:
        releaser.join()
        other.close()
    assert integrity(path) == "ok"


def test_a_database_of_the_first_schema_gains_the_dicomdir_table_and_keeps_its_rows(tmp_path):
    import sqlite3

    path = tmp_path / "db.sqlite"
    with StudyDatabase(path) as db:
        db.import_folder(GE_TILT)
    before = table_rows(path)
    connection = sqlite3.connect(path)
    connection.execute("DROP TABLE dicomdirs")
    connection.close()
    with StudyDatabase(path) as db:
        assert db.import_folder(GE_TILT).unchanged == 4
    assert table_rows(path) == before


def test_a_dicomdir_is_recorded_and_not_read_again(tmp_path):
    from pydicom import dcmread
    from pydicom.fileset import FileSet

    file_set = FileSet()
    for name in ("14.dcm", "15.dcm", "16.dcm"):
        dataset = dcmread(GE_TILT / name)
        dataset.StudyDate, dataset.StudyTime, dataset.StudyID = "20240101", "120000", "1"  # a study record needs them
        file_set.add(dataset)
    file_set.write(tmp_path / "media")
    with StudyDatabase(tmp_path / "db.sqlite") as db:
        first = db.import_folder(tmp_path / "media")
        again = db.import_folder(tmp_path / "media")
        assert (first.read, first.unreadable) == (4, [])
        assert (again.read, again.unchanged) == (0, 4)
        (tmp_path / "media" / "DICOMDIR").unlink()
        assert db.import_folder(tmp_path / "media").removed == 1


def test_a_file_that_is_not_a_database_is_refused_with_its_name(tmp_path):
    bogus = tmp_path / "studies.sqlite"
    bogus.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(UnreadableInput, match=r"studies\.sqlite"):
        StudyDatabase(bogus)
    assert bogus.read_bytes() == b"this is not sqlite" * 100


@pytest.mark.parametrize("damage", [fill_with_random_bytes, truncate_to_half, damage_middle_pages])
def test_a_damaged_database_is_refused_naming_it_and_left_as_it_was(tmp_path, damage):
    path = tmp_path / "studies.sqlite"
    indexed_database(path, GE_TILT)
    damaged = damage(path)
    expected = r"studies\.sqlite: the study database is damaged .*rebuild"
    with pytest.raises(UnreadableInput, match=expected) as error, StudyDatabase(path) as db:
        db.import_folder(GE_TILT)
    assert "\n" not in str(error.value)
    assert path.read_bytes() == damaged


def test_reading_a_database_with_damaged_pages_raises_a_clear_error(tmp_path):
    path = tmp_path / "studies.sqlite"
    indexed_database(path, GE_TILT)
    damage_middle_pages(path)
    with StudyDatabase(path) as db, pytest.raises(UnreadableInput, match="damaged"):
        db.patients()


def test_rebuild_keeps_the_damaged_file_beside_a_fresh_index_of_the_same_folders(tmp_path):
    from medstation.io.database import import_folders, rebuild_database

    path = tmp_path / "studies.sqlite"
    indexed_database(path, GE_TILT)
    damaged = damage_middle_pages(path)
    rebuilt = rebuild_database(path)
    assert re.fullmatch(r"studies\.sqlite\.damaged-\d{8}-\d{6}", rebuilt.kept.name)
    assert rebuilt.kept.parent == tmp_path and rebuilt.kept.read_bytes() == damaged
    assert rebuilt.roots == [GE_TILT]
    with StudyDatabase(path) as db:
        db.check()
        assert db.patients() == []
    (report,) = import_folders(rebuilt.roots, path)
    assert report.read == 4
    with StudyDatabase(path) as db:
        assert len(db.patients()) == 1
    assert rebuild_database(path).kept != rebuilt.kept, "a second rebuild never overwrites the first kept file"


def test_priors_are_the_same_patients_other_studies_newest_first_with_the_series_to_compare(tmp_path):
    folder = tmp_path / "visits"
    for date in ("20200105", "20240102", "20220310"):
        write_ct_series(folder / date, study_uid=f"1.2.3.{date}", study_date=date)
    write_ct_series(folder / "2022-bone", study_uid="1.2.3.20220310", study_date="20220310", series_number=2,
                    series_description="Bone", n_slices=12)
    write_ct_series(folder / "other-patient", study_uid="1.2.3.9", study_date="20230101", patient_id="P2")
    with StudyDatabase(tmp_path / "db.sqlite") as db:
        db.import_folder(folder)
        priors = db.priors("P1", "1.2.3.20240102")
        assert [(study.study_date, study.series) for study in priors] == [("20220310", 2), ("20200105", 1)]
        assert db.priors("", "1.2.3.20240102") == [], "no patient ID, no priors"
        rows = db.series(priors[0].study_uid)
        assert series_to_compare(rows, "CT", "head 2 MM").series_description == "Head 2 mm"
        assert series_to_compare(rows, "CT", "Thorax").series_description == "Bone", "else the most images"
        assert series_to_compare([], "CT", "") is None
