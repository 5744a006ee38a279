"""``forecast --out`` and ``classify --results`` with ``--nproc-per-node 2``: two gloo workers on 127.0.0.1 share
the chunks and rank 0 merges the one results file a single process writes, byte for byte; a killed worker fails the
job with one line and the chunks written so far are resumed, here in one process (real PhysioNet stays, real
radiographs, the shipped models)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from killed_job import dying_writers
from physionet_records import extract_records

from medstation.io.images import image_files_in
from medstation.resources import resource_path

pytestmark = pytest.mark.slow  # torchrun workers and single processes, each loading a model

ONE_THREAD = {"OMP_NUM_THREADS": "1"}
"""torchrun gives each worker one thread; a single process on two threads computes the same rows to about 1e-9,
with one thread to the last bit."""


def _medstation(argv: list[str], env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "medstation", *argv], capture_output=True, text=True, timeout=600,
                          env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def records(shared_path, tmp_path_factory):
    """30 real set-b records in a folder."""
    folder = tmp_path_factory.mktemp("set-b") / "records"
    extract_records(shared_path("physionet2012", "set-b.tar.gz"), folder, 30)
    return folder


def test_two_workers_forecast_the_rows_of_one_process_and_a_killed_worker_is_resumed(records, tmp_path):
    argv = ["forecast", str(records), "--chunk", "8", "--no-contributors", "--json"]
    single = _medstation([*argv, "--out", str(tmp_path / "single.csv")], ONE_THREAD)
    assert single.returncode == 0, single.stderr
    two = _medstation([*argv, "--out", str(tmp_path / "two.csv"), "--nproc-per-node", "2"])
    assert two.returncode == 0, two.stderr
    assert json.loads(two.stdout) == {"model": "icu-trend-lstm", "out": str(tmp_path / "two.csv"), "patients": 30,
                                      "forecast_now": 30, "resumed": 0, "skipped": []}
    assert (tmp_path / "two.csv").read_bytes() == (tmp_path / "single.csv").read_bytes()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["single.csv", "two.csv"]

    # rank 1 (chunks 1 and 3 of 4) dies halfway through writing its second chunk; rank 0 may have written both of
    # its own (0 and 2) before it is stopped
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(dying_writers(2, rank=1))
    out = tmp_path / "killed.csv"
    killed = _medstation([*argv, "--out", str(out), "--nproc-per-node", "2"], {"PYTHONPATH": str(tmp_path / "site")})
    assert killed.returncode == 1
    parts = tmp_path / "killed.csv.parts"
    assert killed.stderr.strip().splitlines()[-1] == (
        "medstation forecast: error: distributed forecast failed: rank 1 killed by SIGKILL first; the other workers "
        f"were stopped, the chunks written so far are kept in {parts}; --resume continues them, on any number of "
        "workers")
    assert not out.exists() and (parts / "rows-000000008.jsonl").exists()
    again = _medstation([*argv, "--out", str(out), "--nproc-per-node", "2"])
    assert again.returncode == 1 and "pass --resume" in again.stderr.strip().splitlines()[-1]
    resumed = _medstation([*argv, "--out", str(out), "--resume"], ONE_THREAD)
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    assert 8 <= summary["resumed"] <= 24 and summary["resumed"] + summary["forecast_now"] == 30
    assert out.read_bytes() == (tmp_path / "single.csv").read_bytes()
    assert not parts.exists()


def test_two_workers_classify_the_rows_of_one_process(shared_path, tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    for path in image_files_in(resource_path("sample", "images"))[:6]:
        shutil.copy(path, images / path.name)
    for path in sorted(shared_path("cxr-kermany", "images").iterdir())[:4]:
        shutil.copy(path, images / path.name)
    argv = ["classify", str(images), "--chunk", "4", "--workers", "0", "--json"]
    single = _medstation([*argv, "--results", str(tmp_path / "single.jsonl")], ONE_THREAD)
    assert single.returncode == 0, single.stderr
    two = _medstation([*argv, "--results", str(tmp_path / "two.jsonl"), "--nproc-per-node", "2"])
    assert two.returncode == 0, two.stderr
    assert json.loads(two.stdout)["images"] == 10
    assert (tmp_path / "two.jsonl").read_bytes() == (tmp_path / "single.jsonl").read_bytes()
    refused = _medstation(["classify", str(images), "--nproc-per-node", "2"])
    assert refused.returncode == 1
    assert refused.stderr.strip() == ("medstation classify: error: --nproc-per-node shares the rows of --results "
                                      "between workers; give --results")
