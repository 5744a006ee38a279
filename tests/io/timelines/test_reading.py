"""load_timelines tells the formats apart; attach_studies puts database studies on anchored timelines."""

from __future__ import annotations

import shutil
import tarfile
import threading

import pydicom
import pytest

from medstation.errors import Cancelled, UnreadableInput
from medstation.io.database import StudyDatabase
from medstation.io.timelines.reading import attach_studies, load_timelines
from medstation.resources import resource_path

SAMPLE = resource_path("sample", "timelines")
SAMPLE_IMAGES = resource_path("sample", "images")
SAMPLE_PATIENT = "MEDSTATION-SAMPLE"


@pytest.mark.parametrize(
    ("name", "patients", "anchored"),
    [
        ("", ["145466", "147135", "150848", "152591"], False),
        ("150848.txt", ["150848"], False),
        ("145466-long.csv", [SAMPLE_PATIENT], True),
        ("145466-fhir.json", [SAMPLE_PATIENT], True),
    ],
)
def test_each_format_is_recognised(name, patients, anchored):
    timelines, report = load_timelines(SAMPLE / name if name else SAMPLE)
    assert [t.patient_id for t in timelines] == patients
    assert all((t.anchor is not None) == anchored for t in timelines)
    assert all(len(t.series["HR"]) > 50 for t in timelines)
    assert report.bad_rows == []


def test_a_tar_gz_and_a_csv_with_another_name_are_recognised(tmp_path):
    archive = tmp_path / "stays.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(SAMPLE / "152591.txt", arcname="152591.txt")
    assert [t.patient_id for t in load_timelines(archive)[0]] == ["152591"]
    renamed = tmp_path / "export.txt"
    shutil.copyfile(SAMPLE / "145466-long.csv", renamed)
    assert load_timelines(renamed)[0][0].anchor is not None


def test_one_patient_is_chosen_and_an_absent_one_is_named():
    (timeline,), _ = load_timelines(SAMPLE, patient="147135")
    assert timeline.patient_id == "147135"
    for name in ("", "145466-long.csv", "145466-fhir.json"):
        with pytest.raises(UnreadableInput, match="no patient 'nobody'"):
            load_timelines(SAMPLE / name if name else SAMPLE, patient="nobody")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"   \n\n", "empty"),
        (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "binary"),
        (b"name,age\nBob,5\n", "not a timeline"),
        (b'{"resourceType": "Patient"}', "a FHIR Patient"),
    ],
)
def test_unknown_empty_or_unreadable_files_are_refused_naming_them(tmp_path, content, message):
    path = tmp_path / "input.dat"
    path.write_bytes(content)
    with pytest.raises(UnreadableInput, match=rf"input\.dat: .*{message}"):
        load_timelines(path)
    assert path.read_bytes() == content


def test_a_missing_path_is_refused_naming_it(tmp_path):
    with pytest.raises(UnreadableInput, match=r"nowhere\.csv: no such file"):
        load_timelines(tmp_path / "nowhere.csv")


def test_loading_can_be_cancelled():
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        load_timelines(SAMPLE, cancel=cancel)


@pytest.fixture
def sample_database(tmp_path):
    with StudyDatabase(tmp_path / "studies.sqlite") as database:
        database.import_folder(SAMPLE_IMAGES)
        yield database


def test_the_sample_study_lands_six_hours_into_the_sample_stay(sample_database):
    timelines, _ = load_timelines(SAMPLE / "145466-fhir.json")
    assert attach_studies(timelines, sample_database) == 1
    (event,) = timelines[0].events
    (study,) = sample_database.studies(SAMPLE_PATIENT)
    assert event.kind == "study"
    assert event.hour == pytest.approx(6.0)
    assert event.reference == study.study_uid
    assert len(sample_database.series(event.reference)) == 6, "the reference opens the study from the database"
    assert event.label.startswith("DX ") and event.label.endswith("2026-01-01 00:00")
    assert attach_studies(timelines, sample_database) == 0, "a study is not added twice"
    assert timelines[0].until(5.9).events == []


def test_timelines_without_an_absolute_anchor_or_of_other_patients_get_no_studies(sample_database, tmp_path):
    record_timelines, _ = load_timelines(SAMPLE / "145466.txt")
    record_timelines[0].patient_id = SAMPLE_PATIENT
    other = tmp_path / "other.csv"
    other.write_text("patient_id,time,variable,value\nsomeone-else,2025-12-31T20:00,HR,80\n", encoding="utf-8")
    other_timelines, _ = load_timelines(other)
    assert attach_studies(record_timelines + other_timelines, sample_database) == 0
    assert record_timelines[0].events == [] and other_timelines[0].events == []


def test_the_study_time_places_the_study_and_its_absence_is_said(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    timed = pydicom.dcmread(SAMPLE_IMAGES / "sample-01.dcm")
    timed.StudyTime = "143000.25"
    timed.save_as(folder / "timed.dcm")
    untimed = pydicom.dcmread(SAMPLE_IMAGES / "sample-02.dcm")
    untimed.StudyInstanceUID = pydicom.uid.generate_uid(entropy_srcs=["untimed study"])
    untimed.StudyDate = "20260102"
    del untimed.StudyTime
    untimed.save_as(folder / "untimed.dcm")
    csv = tmp_path / "stay.csv"
    csv.write_text(f"patient_id,time,variable,value\n{SAMPLE_PATIENT},2025-12-31T18:00,Admission,\n"
                   f"{SAMPLE_PATIENT},2025-12-31T19:00,HR,80\n", encoding="utf-8")
    timelines, _ = load_timelines(csv)
    with StudyDatabase(tmp_path / "studies.sqlite") as database:
        database.import_folder(folder)
        assert attach_studies(timelines, database) == 2
    first, second = timelines[0].events
    assert first.hour == pytest.approx(20.5) and first.label.endswith("2026-01-01 14:30")
    assert second.hour == pytest.approx(30.0) and second.label.endswith("2026-01-02 (time unknown)")
