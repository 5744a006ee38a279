"""The Batch analysis window: a folder classified in a job, rows arriving chunk by chunk while it runs, cancel and
resume of its results file, a double-clicked row opening its image, an empty database query named."""

from __future__ import annotations

import shutil

import pytest
from PySide6.QtCore import Qt

from medstation.engine.classifier import cohort
from medstation.io.images import image_files_in
from medstation.resources import resource_path
from medstation.ui.jobs import JobState

SAMPLE = resource_path("sample", "images")
WAIT_MS = 300_000


@pytest.fixture
def folder(tmp_path):
    """The sample study's six 28-px radiographs and four of its full-size ones, and one damaged file."""
    folder = tmp_path / "images"
    folder.mkdir()
    files = image_files_in(SAMPLE)
    for path in [*files[:4], *[p for p in files if p.name.startswith("sample-")]]:
        shutil.copy(path, folder / path.name)
    (folder / "zz-damaged.png").write_bytes(b"\x89PNG\r\n\x1a\n not a picture")
    return folder


@pytest.mark.slow
def test_rows_arrive_by_chunk_cancel_and_resume_then_a_row_opens(qtbot, make_window, folder, tmp_path, monkeypatch):
    monkeypatch.setattr(cohort, "CHUNK", 4)
    window = make_window()
    batch = window.show_batch_analysis()
    assert batch.model.currentText() == "pneumonia-cxr-resnet18"
    results = tmp_path / "out" / "results.csv"
    batch.folder.setText(str(folder))
    batch.results_file.setText(str(results))

    seen = []
    batch.rows_arrived.connect(lambda rows: seen.append((batch.job.state, batch.table.rowCount())))
    # stop after the first chunk: called in the job's thread as its rows are handed on, before the next chunk
    batch.rows_arrived.connect(lambda rows: batch.job.cancel(), Qt.ConnectionType.DirectConnection)
    job = batch.start()
    qtbot.waitUntil(lambda: job.state.finished, timeout=WAIT_MS)
    assert job.state is JobState.CANCELLED
    assert seen[0] == (JobState.RUNNING, 4)
    assert batch.table.rowCount() == 4 and "Cancelled after 4 images" in batch.status.text()
    assert not results.exists() and results.with_name("results.csv.partial").exists()

    batch.rows_arrived.disconnect()
    batch.rows_arrived.connect(batch.add_rows)
    seen.clear()
    batch.rows_arrived.connect(lambda rows: seen.append((batch.job.state, batch.table.rowCount())))
    batch.resume.setChecked(True)
    job = batch.start()
    qtbot.waitUntil(lambda: job.state.finished, timeout=WAIT_MS)
    assert job.state is JobState.SUCCEEDED, job.error
    assert seen == [(JobState.RUNNING, 4), (JobState.RUNNING, 6)]  # two more chunks, the damaged file skipped
    assert "10 images classified by pneumonia-cxr-resnet18 (4 from before, not shown)" in batch.status.text()
    assert "1 skipped (first: " in batch.status.text() and "zz-damaged.png" in batch.status.text()
    lines = results.read_text().splitlines()
    assert lines[0] == "path,prediction,probabilities,combined" and len(lines) == 11
    assert [batch.table.horizontalHeaderItem(c).text() for c in range(4)] == ["Image", "Prediction",
                                                                              "p(normal)", "p(pneumonia)"]
    first = batch.table.item(0, 0)
    expected = next(line.split(",")[0] for line in lines[1:] if line.split(",")[0].endswith(first.text()))
    with qtbot.waitSignal(batch.image_requested, timeout=5_000) as opened:
        batch.table.itemDoubleClicked.emit(first)
    assert str(opened.args[0]) == expected
    qtbot.waitUntil(lambda: window.runner.jobs[-1].state.finished, timeout=WAIT_MS)
    assert window.runner.jobs[-1].state is JobState.SUCCEEDED


def test_a_parquet_results_file_cancelled_and_resumed_holds_every_row_once(qtbot, make_window, folder, tmp_path,
                                                                           monkeypatch):
    import pyarrow.parquet

    monkeypatch.setattr(cohort, "CHUNK", 4)
    batch = make_window().show_batch_analysis()
    results = tmp_path / "results.parquet"
    batch.folder.setText(str(folder))
    batch.results_file.setText(str(results))
    batch.rows_arrived.connect(lambda rows: batch.job.cancel(), Qt.ConnectionType.DirectConnection)
    job = batch.start()
    qtbot.waitUntil(lambda: job.state.finished, timeout=WAIT_MS)
    assert job.state is JobState.CANCELLED and not results.exists()
    batch.rows_arrived.disconnect()
    batch.rows_arrived.connect(batch.add_rows)
    batch.resume.setChecked(True)
    job = batch.start()
    qtbot.waitUntil(lambda: job.state.finished, timeout=WAIT_MS)
    assert job.state is JobState.SUCCEEDED, job.error
    table = pyarrow.parquet.read_table(results)
    paths = table.column("path").to_pylist()
    assert table.column_names == ["path", "prediction", "probabilities", "combined"]
    assert len(paths) == len(set(paths)) == 10 and not any(path.endswith("zz-damaged.png") for path in paths)
    assert batch.table.rowCount() == 6  # the rows of this run; the first chunk's came before


def test_an_empty_database_query_and_a_missing_folder_are_named(qtbot, make_window):
    window = make_window()
    batch = window.show_batch_analysis()
    batch.start()
    assert batch.status.text() == "choose a folder of images" and batch.job is None
    batch.from_database.setChecked(True)
    batch.modality.setText("CR")
    job = batch.start()
    qtbot.waitUntil(lambda: job.state.finished, timeout=WAIT_MS)
    assert job.state is JobState.FAILED
    assert batch.status.text() == "the study database holds no CR images"
    assert batch.start_button.isEnabled() and not batch.cancel_button.isEnabled()
