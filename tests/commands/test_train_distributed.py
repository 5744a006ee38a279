"""``medstation train forecaster --nproc-per-node N``: torchrun with gloo workers on 127.0.0.1 learns what one
process learns from the same global batches and seed; a killed worker fails the job cleanly."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from physionet_records import records_with_outcomes

pytestmark = pytest.mark.slow  # several real training runs, each in fresh processes

KILL_RANK_1 = """
import os, signal
if os.environ.get("RANK") == "1":
    from medstation.engine.forecaster import training

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    training.train_epoch = die
"""


@pytest.fixture(scope="module")
def records(shared_path, tmp_path_factory):
    """120 real set-a records in a folder, with their outcomes."""
    return records_with_outcomes(shared_path, tmp_path_factory.mktemp("set"), 120)


def _train(records, out, workers: int, seed: int = 4, env: dict | None = None) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "medstation", "train", "forecaster", "--data", str(records / "records"),
            "--outcomes", str(records / "outcomes.txt"), "--out", str(out), "--members", "1", "--epochs", "1",
            "--hidden", "8", "--dropout", "0", "--seed", str(seed), "--nproc-per-node", str(workers), "--json"]
    return subprocess.run(argv, capture_output=True, text=True, timeout=600, env={**os.environ, **(env or {})})


def _predictions(bundle, records):
    from medstation.engine.forecaster import load_forecaster
    from medstation.io.timelines.reading import load_timelines

    timelines, _ = load_timelines(records / "records")
    model = load_forecaster(bundle)
    return model.predict_risk(timelines, 48.0), model.predict_trend(timelines, 24.0, 12)["HR"][..., 1]


def test_two_gloo_workers_learn_what_one_process_learns(records, tmp_path):
    """The gradients of two workers' halves of a global batch, averaged, are those of the whole batch (to 1e-7);
    Adam turns such rounding in parameters whose gradient is nearly zero into steps of up to its learning rate, so
    the models are compared by what they predict (seen: risks within 0.006, heart rates within 0.06/min after an
    epoch), against a model of another seed (risks 0.16 apart). One epoch: early stopping on 24 patients would
    otherwise pick epochs by noise."""
    runs = {name: _train(records, tmp_path / name, workers, seed)
            for name, workers, seed in (("one", 1, 4), ("two", 2, 4), ("other", 1, 5))}
    for run in runs.values():
        assert run.returncode == 0, run.stderr
    printed = json.loads(runs["two"].stdout)
    assert printed["model"] == str(tmp_path / "two")
    assert "--nproc-per-node 2" in printed["training"]["command"]
    (risk_one, hr_one), (risk_two, hr_two), (risk_other, _) = (
        _predictions(tmp_path / name, records) for name in ("one", "two", "other"))
    assert np.abs(risk_two - risk_one).max() < 0.02
    assert np.nanmax(np.abs(hr_two - hr_one)) < 0.5
    assert np.abs(risk_other - risk_one).max() > 0.05
    history = [json.loads((tmp_path / name / "configs" / "metadata.json").read_text())["training"]["out_of_fold"]
               for name in ("one", "two")]
    assert history[0]["mortality_auroc_48h"] == pytest.approx(history[1]["mortality_auroc_48h"], abs=0.02)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["one", "other", "two"]


def test_a_killed_worker_fails_the_job_and_writes_nothing(records, tmp_path):
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(KILL_RANK_1)
    result = _train(records, tmp_path / "killed", 2, env={"PYTHONPATH": str(tmp_path / "site")})
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last == ("medstation train: error: distributed training failed: rank 1 killed by SIGKILL first; the other "
                    "workers were stopped, nothing was written")
    assert not (tmp_path / "killed").exists()
