"""Results files written chunk by chunk: CSV and JSON Lines, finished by a rename, resumed after a kill."""

from __future__ import annotations

import csv
import json

import pytest

from medstation.errors import MedStationError
from medstation.io.batch_results import ResultsWriter, results_format

COLUMNS = ("id", "score", "detail")
JOB = {"model": "m", "input": "/data"}


def _rows(*ids):
    return [{"id": str(i), "score": i / 3, "detail": {"hours": [i, i + 1]}} for i in ids]


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_rows_stream_to_a_partial_file_renamed_when_finished(tmp_path, suffix):
    out = tmp_path / f"results{suffix}"
    with ResultsWriter(out, "id", COLUMNS, JOB) as writer:
        writer.write(_rows(1, 2))
        partial = out.with_name(out.name + ".partial")
        assert partial.exists() and not out.exists()
        assert (tmp_path / f"results{suffix}.partial.json").exists()
        writer.write(_rows(3))
    assert out.exists() and not partial.exists() and not (tmp_path / f"results{suffix}.partial.json").exists()
    if suffix == ".jsonl":
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        assert rows == _rows(1, 2, 3)
    else:
        rows = list(csv.DictReader(out.open()))
        assert [row["id"] for row in rows] == ["1", "2", "3"]
        assert float(rows[0]["score"]) == 1 / 3
        assert json.loads(rows[2]["detail"]) == {"hours": [3, 4]}


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_resume_drops_a_row_cut_short_and_knows_what_is_done(tmp_path, suffix):
    out = tmp_path / f"results{suffix}"
    writer = ResultsWriter(out, "id", COLUMNS, JOB)
    writer.write(_rows(1, 2))
    writer.close()
    partial = out.with_name(out.name + ".partial")
    whole = partial.read_bytes()
    with partial.open("ab") as file:
        file.write(b'3,1.0,"{""hou')
    resumed = ResultsWriter(out, "id", COLUMNS, JOB, resume=True)
    assert resumed.done == ["1", "2"]
    assert partial.read_bytes() == whole
    resumed.write(_rows(3))
    resumed.finish()
    uninterrupted = tmp_path / f"straight{suffix}"
    with ResultsWriter(uninterrupted, "id", COLUMNS, JOB) as writer:
        writer.write(_rows(1, 2))
        writer.write(_rows(3))
    assert out.read_bytes() == uninterrupted.read_bytes()


def test_a_csv_cut_inside_its_header_starts_again(tmp_path):
    out = tmp_path / "results.csv"
    ResultsWriter(out, "id", COLUMNS, JOB).close()
    partial = tmp_path / "results.csv.partial"
    partial.write_bytes(b"id,sco")
    resumed = ResultsWriter(out, "id", COLUMNS, JOB, resume=True)
    assert resumed.done == [] and partial.read_bytes() == b"id,score,detail\n"
    resumed.close()


def test_another_job_is_not_resumed_into_the_same_file(tmp_path):
    out = tmp_path / "results.jsonl"
    ResultsWriter(out, "id", COLUMNS, JOB).close()
    with pytest.raises(MedStationError, match=r"made by another job.*model was 'm', now 'other'"):
        ResultsWriter(out, "id", COLUMNS, {**JOB, "model": "other"}, resume=True)


def test_unfinished_or_finished_results_are_not_overwritten(tmp_path):
    out = tmp_path / "results.jsonl"
    ResultsWriter(out, "id", COLUMNS, JOB).close()
    with pytest.raises(MedStationError, match=r"unfinished job.*--resume"):
        ResultsWriter(out, "id", COLUMNS, JOB)
    ResultsWriter(out, "id", COLUMNS, JOB, resume=True).finish()
    with pytest.raises(MedStationError, match="already exists"):
        ResultsWriter(out, "id", COLUMNS, JOB)
    finished = ResultsWriter(out, "id", COLUMNS, JOB, resume=True)
    assert finished.complete and finished.done == []
    finished.write([])
    with pytest.raises(MedStationError, match="finished already"):
        finished.write(_rows(9))
    assert finished.finish() == out


def test_only_csv_and_json_lines(tmp_path):
    assert results_format("a.CSV") == "csv" and results_format("a.ndjson") == "jsonl"
    with pytest.raises(MedStationError, match=r"a.parquet: results are written as \.csv or \.jsonl"):
        results_format("a.parquet")
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(MedStationError, match="a folder"):
        ResultsWriter(tmp_path / "folder.csv", "id", COLUMNS, JOB)
