"""``medstation forecast --out``: results streamed chunk by chunk, a killed job resumed to exactly the rows of an
uninterrupted one (shipped model, real PhysioNet 2012 stays)."""

from __future__ import annotations

import csv
import json
import signal

import pytest
from killed_job import run_killed_at_write
from physionet_records import extract_records

from medstation.cli import main

pytestmark = pytest.mark.slow  # the shipped forecaster over 40 stays, several times


@pytest.fixture(scope="module")
def records(shared_path, tmp_path_factory):
    """40 real set-b records in a folder."""
    folder = tmp_path_factory.mktemp("set-b") / "records"
    extract_records(shared_path("physionet2012", "set-b.tar.gz"), folder, 40)
    return folder


@pytest.mark.parametrize(("suffix", "options"), [(".jsonl", []), (".csv", ["--no-contributors"])])
def test_a_killed_job_resumed_writes_exactly_the_rows_of_an_uninterrupted_one(records, tmp_path, suffix, options):
    argv = ["forecast", str(records), "--chunk", "8", *options]
    straight = tmp_path / f"straight{suffix}"
    assert main([*argv, "--out", str(straight)]) == 0
    out = tmp_path / f"killed{suffix}"
    # the writer's third chunk (fourth write for CSV, after its header) is cut in the middle, then the process dies
    dies_at = 4 if suffix == ".csv" else 3
    killed = run_killed_at_write(dies_at, [*argv, "--out", str(out)], timeout=300)
    assert killed.returncode == -signal.SIGKILL
    partial = tmp_path / f"killed{suffix}.partial"
    assert not out.exists() and partial.exists() and not partial.read_bytes().endswith(b"\n")
    assert main([*argv, "--out", str(out)]) == 1
    assert main([*argv, "--out", str(out), "--resume"]) == 0
    assert out.read_bytes() == straight.read_bytes()
    assert not partial.exists() and not (tmp_path / f"killed{suffix}.partial.json").exists()
    if suffix == ".csv":
        rows = list(csv.DictReader(straight.open()))
        assert [json.loads(row["contributors"]) for row in rows] == [[]] * 40
    else:
        rows = [json.loads(line) for line in straight.read_text().splitlines()]
        assert all(row["contributors"] for row in rows)
    assert sorted(row["id"] for row in rows) == sorted(path.stem for path in records.iterdir())


def test_out_rows_are_the_json_patients_and_a_resume_needs_the_same_job(records, tmp_path, capsys):
    one = sorted(records.iterdir())[0]
    assert main(["forecast", str(one), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    out = tmp_path / "one.jsonl"
    assert main(["forecast", str(one), "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary == {"model": "icu-trend-lstm", "out": str(out), "patients": 1, "forecast_now": 1, "resumed": 0,
                       "skipped": []}
    assert [json.loads(line) for line in out.read_text().splitlines()] == printed["patients"]
    assert main(["forecast", str(one), "--out", str(out), "--resume"]) == 0
    assert "1 patients forecast by icu-trend-lstm, 1 of them written before" in capsys.readouterr().out
    (tmp_path / "two.jsonl.partial").write_text("")
    (tmp_path / "two.jsonl.partial.json").write_text(json.dumps({"format": "jsonl", "model": "another"}))
    assert main(["forecast", str(one), "--out", str(tmp_path / "two.jsonl"), "--resume"]) == 1
    assert "made by another job" in capsys.readouterr().err
    assert main(["forecast", str(records), "--out", str(records / "inside.csv")]) == 1
    assert not (records / "inside.csv.partial").exists()
    assert main(["forecast", str(one), "--resume"]) == 1
    assert main(["forecast", str(one), "--workers", "-1"]) == 1
    assert "--workers must be 0 or more, not -1" in capsys.readouterr().err
    assert main(["forecast", str(one), "--out", str(tmp_path / "r.txt")]) == 1
    assert "results are written as .csv, .jsonl (one JSON object per line) or .parquet" in capsys.readouterr().err


def test_a_killed_parquet_job_resumed_is_the_file_of_an_uninterrupted_one(records, tmp_path):
    from pyarrow import parquet

    argv = ["forecast", str(records), "--chunk", "8", "--no-contributors"]
    straight = tmp_path / "straight.parquet"
    assert main([*argv, "--out", str(straight)]) == 0
    # the third chunk's file is cut in the middle of its write (under its temporary name), then the process dies
    out = tmp_path / "killed.parquet"
    killed = run_killed_at_write(3, [*argv, "--out", str(out)], timeout=300)
    assert killed.returncode == -signal.SIGKILL
    parts = tmp_path / "killed.parquet.parts"
    assert not out.exists()
    assert sorted(path.name for path in parts.glob("rows-*")) == ["rows-000000000.jsonl", "rows-000000008.jsonl"]
    assert main([*argv, "--out", str(out)]) == 1
    assert main([*argv, "--out", str(out), "--resume"]) == 0
    assert out.read_bytes() == straight.read_bytes() and not parts.exists()
    written = parquet.ParquetFile(out)
    assert written.metadata.num_row_groups == 5
    rows = written.read().to_pylist()
    assert sorted(row["id"] for row in rows) == sorted(path.stem for path in records.iterdir())
    assert all(json.loads(row["risk"]) for row in rows)
