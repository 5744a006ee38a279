"""Results files written chunk by chunk: CSV and JSON Lines streamed and finished by a rename, or any format (Parquet
too) kept one file per chunk and merged in input order, from one process or several workers; resumed after a
kill."""

from __future__ import annotations

import csv
import json

import pytest

from medstation.errors import MedStationError
from medstation.io.batch_results import ChunkedResults, ResultsWriter, check_results_start, open_results, results_format

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


def test_csv_json_lines_and_parquet_only(tmp_path):
    assert results_format("a.CSV") == "csv" and results_format("a.ndjson") == "jsonl"
    assert results_format("a.parquet") == "parquet"
    with pytest.raises(MedStationError, match=r"a.txt: results are written as \.csv, \.jsonl .* or \.parquet"):
        results_format("a.txt")
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(MedStationError, match="a folder"):
        ResultsWriter(tmp_path / "folder.csv", "id", COLUMNS, JOB)


ORDER = [str(i) for i in range(10)]


def _straight(tmp_path, suffix):
    """The file one ResultsWriter writes for rows 0-9 (CSV and JSON Lines)."""
    out = tmp_path / f"straight{suffix}"
    with ResultsWriter(out, "id", COLUMNS, JOB) as writer:
        for chunk in ((0, 1, 2, 3), (4, 5, 6, 7), (8, 9)):
            writer.write(_rows(*chunk))
    return out


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_chunks_written_by_two_workers_in_any_order_merge_into_the_one_file_of_one_process(tmp_path, suffix):
    out = tmp_path / f"merged{suffix}"
    leader = ChunkedResults(out, "id", COLUMNS, JOB, ORDER)
    follower = ChunkedResults(out, "id", COLUMNS, JOB, ORDER, create=False)
    follower.write(_rows(4, 5, 6, 7))
    leader.write(_rows(8, 9))
    leader.write(_rows(0, 1, 2, 3))
    parts = tmp_path / f"merged{suffix}.parts"
    assert sorted(path.name for path in parts.iterdir()) == [
        "job.json", "rows-000000000.jsonl", "rows-000000004.jsonl", "rows-000000008.jsonl"]
    assert not out.exists()
    assert leader.finish() == out and not parts.exists()
    if suffix != ".parquet":
        assert out.read_bytes() == _straight(tmp_path, suffix).read_bytes()
        return
    from pyarrow import parquet

    written = parquet.ParquetFile(out)
    assert written.metadata.num_row_groups == 3
    assert [str(field.type) for field in written.schema_arrow] == ["string", "double", "string"]
    rows = written.read().to_pylist()
    assert [row["id"] for row in rows] == ORDER
    assert rows[4]["score"] == 4 / 3 and json.loads(rows[9]["detail"]) == {"hours": [9, 10]}


def test_parquet_columns_are_typed_from_every_row_and_none_is_null(tmp_path):
    from pyarrow import parquet

    out = tmp_path / "typed.parquet"
    columns = ("id", "count", "flag", "value", "note")
    with ChunkedResults(out, "id", columns, JOB, ["a", "b", "c"]) as results:
        results.write([{"id": "a", "count": 1, "flag": True, "value": 2, "note": None}])
        results.write([{"id": "b", "count": 2, "flag": False, "value": 0.5, "note": None},
                       {"id": "c", "count": None, "flag": None, "value": None, "note": None}])
    table = parquet.read_table(out)
    assert [str(field.type) for field in table.schema] == ["string", "int64", "bool", "double", "string"]
    assert table.to_pylist()[0] == {"id": "a", "count": 1, "flag": True, "value": 2.0, "note": None}
    assert table.column("count").to_pylist() == [1, 2, None]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_killed_chunked_job_resumes_to_the_rows_of_an_uninterrupted_one(tmp_path, suffix):
    out = tmp_path / f"killed{suffix}"
    results = open_results(out, "id", COLUMNS, JOB, ORDER, sharded=True)
    results.write(_rows(0, 1, 2, 3))
    parts = tmp_path / f"killed{suffix}.parts"
    (parts / ".rows-000000004.jsonl.killed.partial.jsonl").write_text('{"id":"4","score"')  # a chunk cut by a kill
    with pytest.raises(MedStationError, match=r"killed\.\w+\.parts: the results of an unfinished job; pass --resume"):
        open_results(out, "id", COLUMNS, JOB, ORDER, sharded=True)
    with pytest.raises(MedStationError, match=r"made by another job .*model was 'm', now 'n'"):
        open_results(out, "id", COLUMNS, {**JOB, "model": "n"}, ORDER, resume=True)
    resumed = open_results(out, "id", COLUMNS, JOB, ORDER, resume=True)  # chunked: its folder is there
    assert isinstance(resumed, ChunkedResults) and resumed.done == ["0", "1", "2", "3"]
    resumed.write(_rows(4, 5, 6, 7))
    resumed.write(_rows(8, 9))
    resumed.finish()
    assert not parts.exists()
    if suffix == ".csv":
        assert out.read_bytes() == _straight(tmp_path, suffix).read_bytes()
    again = open_results(out, "id", COLUMNS, JOB, ORDER, resume=True)
    assert again.complete and again.done == ORDER


def test_a_sharded_job_does_not_take_over_a_single_process_partial_file(tmp_path):
    out = tmp_path / "r.jsonl"
    ResultsWriter(out, "id", COLUMNS, JOB).write(_rows(0))
    with pytest.raises(MedStationError, match=r"r\.jsonl\.partial: the results of an unfinished job run in one "
                                              r"process; resume it the same way"):
        check_results_start(out, resume=True, sharded=True)
    with pytest.raises(MedStationError, match="pass --resume"):
        check_results_start(out, resume=False, sharded=False)
