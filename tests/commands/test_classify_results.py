"""``medstation classify --results``: rows streamed chunk by chunk, a killed job resumed to exactly the rows of an
uninterrupted one; ``classify --database`` with a query (shipped model, real radiographs)."""

from __future__ import annotations

import json
import shutil
import signal

import pytest
from dicom_studies import write_ct_series
from killed_job import run_killed_at_write

from medstation.cli import main
from medstation.io.database import StudyDatabase
from medstation.io.images import image_files_in
from medstation.resources import resource_path

SAMPLE = resource_path("sample", "images")
@pytest.fixture(scope="module")
def folder(tmp_path_factory, shared_path):
    """The sample study's 18 radiographs and 14 Kermany JPEGs."""
    folder = tmp_path_factory.mktemp("images") / "images"
    folder.mkdir()
    for path in image_files_in(SAMPLE):
        shutil.copy(path, folder / path.name)
    for path in sorted(shared_path("cxr-kermany", "images").iterdir())[:14]:
        shutil.copy(path, folder / path.name)
    return folder


@pytest.mark.slow
def test_a_killed_job_resumed_writes_exactly_the_rows_of_an_uninterrupted_one(folder, tmp_path, capsys):
    argv = ["classify", str(folder), "--chunk", "8", "--workers", "1"]
    straight = tmp_path / "straight.jsonl"
    assert main([*argv, "--results", str(straight)]) == 0
    out = tmp_path / "killed.jsonl"
    # the third chunk is cut in the middle of its write, then the process dies
    killed = run_killed_at_write(3, [*argv, "--results", str(out)])
    assert killed.returncode == -signal.SIGKILL
    partial = tmp_path / "killed.jsonl.partial"
    assert not out.exists() and not partial.read_bytes().endswith(b"\n")
    assert main([*argv, "--results", str(out)]) == 1
    capsys.readouterr()
    assert main([*argv, "--results", str(out), "--resume", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    # the rows of the cut chunk written whole before the kill are kept; at most that chunk is classified again
    assert 16 <= summary["resumed"] < 24 and summary["resumed"] + summary["classified_now"] == summary["images"] == 32
    assert out.read_bytes() == straight.read_bytes()
    assert not partial.exists()
    assert main([*argv, "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)["results"]
    assert [json.loads(line) for line in straight.read_text().splitlines()] == printed


def test_results_options_are_checked_before_any_work(folder, tmp_path, capsys):
    one = str(folder / "sample-01.dcm")
    assert main(["classify", str(folder), "--results", str(folder / "inside.csv")]) == 1
    assert main(["classify", one, "--resume"]) == 1
    assert main(["classify", one, "--results", str(tmp_path / "r.txt")]) == 1
    assert main(["classify", one, "--modality", "CR"]) == 1
    assert main(["classify"]) == 1
    err = capsys.readouterr().err
    assert "inside the input folder" in err and "give --results" in err and "or .parquet" in err
    assert "add --database" in err and "--database" in err.splitlines()[-1]
    assert not (folder / "inside.csv.partial").exists()


@pytest.mark.slow
def test_database_query_selects_the_images_and_says_when_there_are_none(tmp_path, capsys):
    incoming = tmp_path / "incoming"
    for path in image_files_in(SAMPLE)[-4:]:
        (incoming / "dx").mkdir(parents=True, exist_ok=True)
        shutil.copy(path, incoming / "dx" / path.name)
    write_ct_series(incoming / "ct", study_uid="1.2.3.4", study_date="20250101", n_slices=2)
    assert main(["import", str(incoming)]) == 0
    with StudyDatabase() as db:
        assert len(db.image_files()) == 6
    out = tmp_path / "dx.csv"
    assert main(["classify", "--database", "--modality", "DX", "--since", "2026-01-01", "--results", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "path,prediction,probabilities,combined" and len(lines) == 5
    assert all("/dx/sample-" in line for line in lines[1:])
    capsys.readouterr()
    assert main(["classify", "--database", "--modality", "CR", "--since", "2026-01-01"]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "no CR images of studies from 2026-01-01" in line
