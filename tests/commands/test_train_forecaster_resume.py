"""``medstation train forecaster --checkpoint FILE [--resume]``: a run killed after a checkpoint and resumed ends with
the weights of an uninterrupted run, in one process and on two torchrun gloo workers (real set-a stays)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from physionet_records import records_with_outcomes

pytestmark = pytest.mark.slow  # several short real training runs, each in fresh processes

KILL_AFTER_FOURTH_CHECKPOINT = """
import os, signal
if os.environ.get("RANK", "0") == "0":
    from medstation.engine.forecaster import training

    written = []
    write = training.write_checkpoint

    def write_then_die(path, document):
        write(path, document)
        written.append(path)
        if len(written) == 4:  # member 2 of 2, after its first of three epochs
            os.kill(os.getpid(), signal.SIGKILL)

    training.write_checkpoint = write_then_die
"""


@pytest.fixture(scope="module")
def records(shared_path, tmp_path_factory):
    """80 real set-a records in a folder, with their outcomes."""
    return records_with_outcomes(shared_path, tmp_path_factory.mktemp("set"), 80)


@pytest.fixture(scope="module")
def dying(tmp_path_factory):
    """A PYTHONPATH whose sitecustomize kills (rank 0 of) the training right after its fourth checkpoint."""
    site = tmp_path_factory.mktemp("site")
    (site / "sitecustomize.py").write_text(KILL_AFTER_FOURTH_CHECKPOINT)
    return {"PYTHONPATH": str(site)}


def _train(records, out, *options: str, env: dict | None = None) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "medstation", "train", "forecaster", "--data", str(records / "records"),
            "--outcomes", str(records / "outcomes.txt"), "--out", str(out), "--members", "2", "--epochs", "3",
            "--hidden", "8", "--seed", "3", "--json", *options]
    return subprocess.run(argv, capture_output=True, text=True, timeout=600, env={**os.environ, **(env or {})})


def _weights(bundle) -> bytes:
    return (bundle / "models" / "model.pt").read_bytes()


@pytest.mark.parametrize("workers", [[], ["--nproc-per-node", "2"]], ids=["one-process", "two-workers"])
def test_a_run_killed_after_a_checkpoint_resumes_to_the_uninterrupted_weights(records, dying, tmp_path, workers):
    straight = _train(records, tmp_path / "straight", *workers)
    assert straight.returncode == 0, straight.stderr
    checkpoint = tmp_path / "run.ckpt"
    options = [*workers, "--checkpoint", str(checkpoint)]
    killed = _train(records, tmp_path / "resumed", *options, env=dying)
    assert checkpoint.exists() and not (tmp_path / "resumed").exists()
    if workers:
        assert killed.returncode == 1
        assert killed.stderr.strip().splitlines()[-1] == (
            "medstation train: error: distributed training failed: rank 0 killed by SIGKILL first; the other workers "
            f"were stopped, nothing was written; --resume continues from {checkpoint}, the last epoch's checkpoint, "
            "on any number of workers")
    else:
        assert killed.returncode == -9
        other = _train(records, tmp_path / "other", "--checkpoint", str(checkpoint), "--resume", "--seed", "4")
        assert other.returncode == 1
        assert other.stderr.strip().splitlines()[-1] == (
            f"medstation train: error: {checkpoint}: the checkpoint was made with another recipe or other patients; "
            "resume with the same data and options, or start afresh without --resume")
    resumed = _train(records, tmp_path / "resumed", *options, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    # the same bytes: every weight, and the members' order of keys, as the uninterrupted run wrote them
    assert _weights(tmp_path / "resumed") == _weights(tmp_path / "straight")
