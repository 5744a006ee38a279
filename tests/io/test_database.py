"""The study database: listing, search, rollback of an interrupted import, damaged database files."""

from __future__ import annotations

import shutil
import threading

import pytest

from medstation.errors import Cancelled, UnreadableInput
from medstation.io.database import StudyDatabase


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


def test_an_interrupted_import_leaves_the_database_as_it_was(two_studies, tmp_path):
    path = tmp_path / "db.sqlite"
    with StudyDatabase(path) as db:
        db.import_folder(two_studies / "ts")
        before = (db.patients(), db.studies())
        cancel = threading.Event()

        def progress(fraction: float, message: str) -> None:
            if fraction > 0.5:
                cancel.set()

        with pytest.raises(Cancelled):
            db.import_folder(two_studies, progress=progress, cancel=cancel)
    with StudyDatabase(path) as reopened:
        assert (reopened.patients(), reopened.studies()) == before


def test_a_file_that_is_not_a_database_is_refused_with_its_name(tmp_path):
    bogus = tmp_path / "studies.sqlite"
    bogus.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(UnreadableInput, match=r"studies\.sqlite"):
        StudyDatabase(bogus)
    assert bogus.read_bytes() == b"this is not sqlite" * 100
