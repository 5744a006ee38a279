"""``medstation train classifier|generator --nproc-per-node N``: torchrun with gloo workers on 127.0.0.1 learns what
one worker learns from the same global batches and seed; a killed worker fails the job cleanly, and ``--resume``
continues it on another number of workers."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # several real training runs, each in fresh processes

KILL_RANK_1_AT_EPOCH_2 = """
import os, signal
if os.environ.get("RANK") == "1":
    from torch.utils.data import DistributedSampler

    set_epoch = DistributedSampler.set_epoch

    def dying_set_epoch(self, epoch):
        if epoch == 1:
            os.kill(os.getpid(), signal.SIGKILL)
        set_epoch(self, epoch)

    DistributedSampler.set_epoch = dying_set_epoch
"""

CLASSIFIER = ["--labels", "normal,pneumonia", "--steps", "24", "--batch-size", "32", "--widths", "8,16,32,64",
              "--learning-rate", "0.003"]
GENERATOR = ["--labels", "normal,pneumonia", "--epochs", "2", "--batch-size", "16", "--latent-dim", "8", "--width",
             "4", "--no-evaluation"]


@pytest.fixture(scope="module")
def images(shared_path, tmp_path_factory):
    """Real PneumoniaMNIST radiographs: 256 training and 64 validation images."""
    random = np.random.default_rng(0)
    arrays = {}
    with np.load(shared_path("medmnist", "pneumoniamnist.npz")) as archive:
        for split, count in (("train", 256), ("val", 64)):
            picked = random.choice(len(archive[f"{split}_labels"]), count, replace=False)
            arrays[f"{split}_images"] = archive[f"{split}_images"][picked]
            arrays[f"{split}_labels"] = archive[f"{split}_labels"][picked]
    path = tmp_path_factory.mktemp("data") / "pneumonia.npz"
    np.savez(path, **arrays)
    return path


def _train(kind: str, data, out, workers: int, seed: int, options: list[str], *extra: str,
           env: dict | None = None) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "medstation", "train", kind, "--data", str(data), "--out", str(out), *options,
            "--seed", str(seed), "--nproc-per-node", str(workers), *extra, "--json"]
    return subprocess.run(argv, capture_output=True, text=True, timeout=900, env={**os.environ, **(env or {})})


def _logits(bundle, data) -> np.ndarray:
    from medstation.engine.classifier import load_classifier, prepare_batch

    classifier = load_classifier(str(bundle))
    with np.load(data) as archive:
        inputs = [classifier.image_input(image) for image in archive["val_images"]]
    return classifier.logits(prepare_batch(inputs, classifier.input_spec))


def _samples(bundle) -> np.ndarray:
    from medstation.engine.generator import load_generator

    return load_generator(str(bundle)).sample(32, seed=3).images.astype(np.float64)


def _killed_and_resumed(kind: str, images, tmp_path, options: list[str], *extra: str) -> tuple:
    """A two-worker run whose rank 1 is killed at its second epoch (checked to leave no bundle), then resumed on
    one worker."""
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(KILL_RANK_1_AT_EPOCH_2)
    killed = _train(kind, images, tmp_path / "killed", 2, 1, options, *extra, env={"PYTHONPATH": str(site)})
    assert not (tmp_path / "killed").exists()
    resumed = _train(kind, images, tmp_path / "killed", 1, 1, options, *extra, "--resume")
    return killed, resumed


def test_two_gloo_workers_train_the_classifier_one_process_trains(images, tmp_path):
    """Each worker's gradient is averaged over a global batch normalised as a whole; the averaged gradient of two
    workers is nearer a float64 computation than one float32 process's, but the two differ by float32 rounding,
    which Adam turns into steps of up to its learning rate in parameters whose gradient is nearly zero. So the
    classifiers are compared by their logits on the validation images, against a classifier of another seed. A
    worker killed in the second epoch (after the first scoring's checkpoint, 8 steps) stops the job with one line
    and no bundle; --resume on one worker ends where the uninterrupted two-worker run ended."""
    runs = {name: _train("classifier", images, tmp_path / name, workers, seed, CLASSIFIER)
            for name, workers, seed in (("one", 1, 1), ("two", 2, 1), ("other", 1, 2))}
    for run in runs.values():
        assert run.returncode == 0, run.stderr
    printed = json.loads(runs["two"].stdout)
    assert printed["model"] == str(tmp_path / "two")
    assert "--nproc-per-node 2" in printed["training"]["command"]
    assert printed["training"]["steps_run"] == printed["training"]["budget"] == 24  # global optimiser steps
    one, two, other = (_logits(tmp_path / name, images) for name in ("one", "two", "other"))
    spread = np.ptp(one[:, 1] - one[:, 0])
    assert spread > 0.05  # the classifier has learned something to compare
    assert np.abs(two - one).max() < 0.2 * np.abs(other - one).max()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["one", "other", "two"]

    checkpoint = tmp_path / "checkpoint.pt"
    killed, resumed = _killed_and_resumed("classifier", images, tmp_path, CLASSIFIER, "--checkpoint", str(checkpoint))
    assert killed.returncode == 1
    assert killed.stderr.strip().splitlines()[-1] == (
        "medstation train: error: distributed training failed: rank 1 killed by SIGKILL first; the other workers "
        f"were stopped, no bundle was written; --resume continues from {checkpoint}, the last scoring's checkpoint, "
        "on any number of workers")
    assert resumed.returncode == 0, resumed.stderr
    training = json.loads(resumed.stdout)["training"]
    assert training["validation_auc"][0][0] == 8 and training["steps_run"] == 24
    assert np.abs(_logits(tmp_path / "killed", images) - two).max() < 0.2 * np.abs(other - one).max()


def test_the_generator_on_two_workers_a_killed_worker_and_a_resume_on_one(images, tmp_path):
    """Two workers and one draw the same latents for the same global batches, normalised as one batch: the samples
    of their average generators agree to rounding (seen within 0.0005 after 16 steps; another seed's are 0.88
    apart). A worker killed at the second epoch stops the job with one line and no bundle; --resume on one worker
    continues from rank 0's first-epoch checkpoint and ends where the uninterrupted two-worker run ended."""
    runs = {name: _train("generator", images, tmp_path / name, workers, seed, GENERATOR)
            for name, workers, seed in (("one", 1, 1), ("two", 2, 1), ("other", 1, 2))}
    for run in runs.values():
        assert run.returncode == 0, run.stderr
    one, two, other = (_samples(tmp_path / name) for name in ("one", "two", "other"))
    assert np.abs(other - one).max() > 0.5  # seen 0.88
    assert np.abs(two - one).max() < 0.02  # seen 0.0005

    killed, resumed = _killed_and_resumed("generator", images, tmp_path, GENERATOR)
    assert killed.returncode == 1
    checkpoint = tmp_path / "killed.checkpoint.pt"
    assert killed.stderr.strip().splitlines()[-1] == (
        "medstation train: error: distributed training failed: rank 1 killed by SIGKILL first; the other workers "
        f"were stopped, no bundle was written; --resume continues from {checkpoint}, the last epoch's checkpoint, "
        "on any number of workers")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((tmp_path / "killed" / "configs" / "metadata.json").read_text())["training"]["epochs_run"] == 2
    assert np.abs(_samples(tmp_path / "killed") - two).max() < 0.02  # seen 0.0007
