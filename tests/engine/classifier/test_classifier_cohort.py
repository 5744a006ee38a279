"""The classifier over many files (engine/classifier/cohort.py): batched in worker processes, the same answers as one
image at a time; a cancelled job resumed to exactly the rows of an uninterrupted one; the study database as input."""

from __future__ import annotations

import pickle
import shutil
import threading

import pytest
from dicom_studies import write_ct_series

from medstation.engine.classifier import load_classifier
from medstation.engine.classifier.cohort import ClassifyTask, classify_files, database_images, study_date
from medstation.errors import Cancelled, MedStationError
from medstation.io.batch_results import ResultsWriter
from medstation.io.database import StudyDatabase
from medstation.io.images import image_files_in
from medstation.io.open_study import open_image
from medstation.resources import resource_path

SAMPLE = resource_path("sample", "images")


@pytest.fixture(scope="module")
def classifier():
    return load_classifier("pneumonia-cxr-resnet18")


@pytest.fixture(scope="module")
def images(tmp_path_factory, shared_path):
    """30 real images: the sample study's 18 radiographs (DICOM) and 12 Kermany JPEGs, and one damaged file."""
    folder = tmp_path_factory.mktemp("images")
    for path in image_files_in(SAMPLE):
        shutil.copy(path, folder / path.name)
    for path in sorted(shared_path("cxr-kermany", "images").iterdir())[:12]:
        shutil.copy(path, folder / path.name)
    (folder / "damaged.png").write_bytes(b"\x89PNG\r\n\x1a\n not a picture")
    return image_files_in(folder)


@pytest.mark.slow
def test_batched_in_worker_processes_equals_one_image_at_a_time(classifier, images):
    rows, skipped = [], []
    summary = classify_files(classifier, images, rows.extend, chunk_size=8, workers=2,
                             on_skipped=lambda key, reason: skipped.append((key, reason)))
    assert summary.chunks == 4 and summary.ran == len(images) - 1
    assert [key for key, _ in skipped] == [str(p) for p in images if p.name == "damaged.png"]
    assert "not a readable picture" in skipped[0][1]
    assert [row["path"] for row in rows] == [str(p) for p in images if p.name != "damaged.png"]
    for row in rows:
        alone = classifier.predict(open_image(row["path"]).volume)
        assert row["prediction"] == alone.label
        for label, p in alone.probabilities.items():
            assert abs(row["probabilities"][label] - p) <= 1e-5


def test_the_task_sent_to_a_worker_carries_no_network(classifier):
    task = pickle.loads(pickle.dumps(ClassifyTask(classifier)))
    assert task.classifier is None and task.spec == classifier.input_spec
    prepared = task.prepare([SAMPLE / "sample-01.dcm"])
    keys, batch = prepared.payload
    assert prepared.keys == keys == [str(SAMPLE / "sample-01.dcm")]
    assert tuple(batch.shape) == (1, 1, 28, 28)


def test_a_worker_given_the_task_pickled_loads_the_network_and_prepares_the_logits(classifier, images):
    task = pickle.loads(pickle.dumps(ClassifyTask(classifier, network_in_prepare=True)))
    assert task.classifier is None
    usable = [path for path in images if path.name != "damaged.png"][:10]
    prepared = task.prepare(usable)
    keys, logits = prepared.payload
    assert task.classifier is not None and task.classifier.device == "cpu"
    assert keys == [str(path) for path in usable] and logits.shape == (10, len(classifier.labels))
    rows = task.run(prepared.payload)
    for path, row in zip(usable, rows, strict=True):
        alone = classifier.predict(open_image(path).volume)
        assert row["path"] == str(path) and row["prediction"] == alone.label
        assert max(abs(row["probabilities"][label] - p) for label, p in alone.probabilities.items()) <= 1e-5


@pytest.mark.slow
def test_a_cancelled_job_resumed_writes_exactly_the_rows_of_an_uninterrupted_one(classifier, images, tmp_path):
    job = {"model": classifier.name, "input": "images"}
    straight = tmp_path / "straight.csv"
    with ResultsWriter(straight, "path", ("path", "prediction", "probabilities", "combined"), job) as writer:
        classify_files(classifier, images, writer.write, chunk_size=8, workers=1)

    out = tmp_path / "cancelled.csv"
    cancel = threading.Event()
    writer = ResultsWriter(out, "path", ("path", "prediction", "probabilities", "combined"), job)

    def write_then_cancel(rows):
        writer.write(rows)
        if len(writer.done) >= 16:
            cancel.set()

    with pytest.raises(Cancelled):
        classify_files(classifier, images, write_then_cancel, chunk_size=8, workers=1, cancel=cancel)
    writer.close()
    assert not out.exists() and len(writer.done) == 16
    with ResultsWriter(out, "path", ("path", "prediction", "probabilities", "combined"), job, resume=True) as again:
        summary = classify_files(classifier, images, again.write, chunk_size=8, done=again.done, workers=1)
    assert summary.done_before == 16 and summary.ran == len(images) - 1 - 16
    assert out.read_bytes() == straight.read_bytes()


def test_study_database_query_by_modality_and_study_date(tmp_path):
    folder = tmp_path / "incoming"
    for path in image_files_in(SAMPLE)[:3]:  # DX, studies of 2026-01-01
        (folder / "dx").mkdir(parents=True, exist_ok=True)
        shutil.copy(path, folder / "dx" / path.name)
    write_ct_series(folder / "ct-old", study_uid="1.2.3.1", study_date="20250310", n_slices=2)
    write_ct_series(folder / "ct-new", study_uid="1.2.3.2", study_date="20260215", n_slices=3)
    database = tmp_path / "studies.sqlite"
    with StudyDatabase(database) as db:
        db.import_folder(folder)
    assert len(database_images(database_path=database)) == 8
    assert [p.parent.name for p in database_images("dx", database_path=database)] == ["dx"] * 3
    assert {p.parent.name for p in database_images("CT", since="2026-01-01", database_path=database)} == {"ct-new"}
    assert {p.parent.name for p in database_images(until="2025-12-31", database_path=database)} == {"ct-old"}
    assert len(database_images(since="2026-01-01", until="20260101", database_path=database)) == 3
    assert database_images("CR", database_path=database) == []


def test_dates_are_read_as_days_or_refused_naming_the_option():
    assert study_date("2026-01-31") == study_date("20260131") == "20260131"
    with pytest.raises(MedStationError, match="--since '31/01/2026': not a date"):
        study_date("31/01/2026", "--since")


def test_an_unreadable_chunk_only_skips(classifier, tmp_path):
    bad = tmp_path / "bad.jpeg"
    bad.write_bytes(b"no")
    rows, skipped = [], []
    summary = classify_files(classifier, [bad], rows.extend, workers=0,
                             on_skipped=lambda key, reason: skipped.append(key))
    assert rows == [] and skipped == [str(bad)] and summary.ran == 0
