"""``medstation train generator``, ``evaluate generator`` and ``generate`` end to end on a tiny two-class set."""

from __future__ import annotations

import json

import numpy as np
import pytest
from generator_data import write_npz

from medstation.cli import main
from medstation.engine.classifier import load_classifier

TINY = ["--epochs", "1", "--batch-size", "16", "--latent-dim", "8", "--width", "4", "--labels", "normal,pneumonia"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny generator trained by the command, with its data and the training JSON."""
    folder = tmp_path_factory.mktemp("gan")
    data = write_npz(folder / "two-class.npz")
    out = folder / "tiny-gan"
    code = main(["train", "generator", "--data", str(data), "--out", str(out), *TINY, "--json"])
    return code, data, out


@pytest.mark.slow
def test_train_writes_a_bundle_with_its_test_measurements_and_a_checkpoint(trained, capsys):
    code, _, out = trained
    assert code == 0
    assert (out / "configs" / "metadata.json").is_file() and (out / "models" / "model.pt").is_file()
    assert out.with_name("tiny-gan.checkpoint.pt").is_file()
    metadata = json.loads((out / "configs" / "metadata.json").read_text())
    assert metadata["task"] == "generation" and metadata["labels"] == ["normal", "pneumonia"]
    assert metadata["training"]["command"].startswith("medstation train generator --data")
    measured = set(metadata["metrics"]["test"])
    assert {"fd", "conditional_accuracy", "floor_fd", "blurred_real_fd", "baseline_fd"} <= measured


@pytest.mark.slow
def test_train_again_into_the_same_folder_is_refused_and_changes_nothing(trained, capsys):
    _, data, out = trained
    before = (out / "models" / "model.pt").read_bytes()
    assert main(["train", "generator", "--data", str(data), "--out", str(out), *TINY]) == 1
    assert "already exists" in capsys.readouterr().err
    assert (out / "models" / "model.pt").read_bytes() == before


@pytest.mark.slow
def test_evaluate_json_has_the_contract_keys(trained, capsys):
    _, data, out = trained
    capsys.readouterr()
    assert main(["evaluate", "generator", "--model", str(out), "--data", str(data), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["split"] == "test" and document["n"] == 24
    assert {"fd", "precision", "recall", "conditional_accuracy", "memorisation"} <= set(document["metrics"])
    assert set(document["references"]) == {"floor", "blurred_real", "baseline"}
    assert all(value >= 0 for value in document["references"].values())
    assert "pneumonia-cxr-resnet18" in document["feature_network"]
    assert 0.0 <= document["metrics"]["conditional_accuracy"] <= 1.0
    with np.load(data) as arrays:
        images, classes = arrays["test_images"], arrays["test_labels"].ravel()
    called = [p.label for p in load_classifier("pneumonia-cxr-resnet18").predict_batch(images[:, np.newaxis])]
    right = np.mean([label == ("normal", "pneumonia")[c] for label, c in zip(called, classes, strict=True)])
    assert document["metrics"]["real_conditional_accuracy"] == pytest.approx(right)


@pytest.mark.slow
def test_evaluate_human_form_says_which_goals_are_met(trained, capsys):
    _, data, out = trained
    assert main(["evaluate", "generator", "--model", str(out), "--data", str(data)]) == 0
    text = capsys.readouterr().out
    assert "Fréchet distance" in text and "blurred real" in text
    assert "met" in text


@pytest.mark.slow
def test_generate_writes_marked_files_and_never_overwrites(trained, tmp_path, capsys):
    _, _, out = trained
    target = tmp_path / "samples"
    argv = ["generate", "--model", str(out), "--n", "3", "--label", "normal", "--seed", "7", "--out", str(target)]
    assert main([*argv, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["seed"] == 7 and [image["label"] for image in document["images"]] == ["normal"] * 3
    written = sorted(target.iterdir())
    assert len(written) == 3 and all(path.suffix == ".png" for path in written)
    contents = [path.read_bytes() for path in written]
    assert main(argv) == 1
    assert "exists" in capsys.readouterr().err
    assert [path.read_bytes() for path in sorted(target.iterdir())] == contents


@pytest.mark.slow
def test_generate_with_a_classifier_or_an_unknown_class_fails_with_a_message(trained, tmp_path, capsys,
                                                                             untrained_classifier_bundle):
    _, _, out = trained
    target = tmp_path / "samples"
    assert main(["generate", "--model", untrained_classifier_bundle, "--n", "2", "--out", str(target)]) == 1
    assert "not a generator" in capsys.readouterr().err
    assert main(["generate", "--model", str(out), "--n", "2", "--label", "covid", "--out", str(target)]) == 1
    assert "no class 'covid'" in capsys.readouterr().err
    assert not target.exists()


def test_train_without_data_or_with_a_missing_file_fails_with_a_message(tmp_path, capsys):
    assert main(["train", "generator", "--out", str(tmp_path / "x")]) == 1
    assert "needs --data" in capsys.readouterr().err
    missing = tmp_path / "missing.npz"
    assert main(["train", "generator", "--data", str(missing), "--out", str(tmp_path / "x")]) == 1
    assert str(missing) in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
