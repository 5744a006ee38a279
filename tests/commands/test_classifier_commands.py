"""``medstation train classifier``, ``evaluate classifier`` and ``classify`` end to end on real images, and the
shipped model bundle."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from medstation.cli import main
from medstation.engine.bundles.registry import find_bundle
from medstation.engine.bundles.store import open_bundle
from medstation.engine.metrics import SUMMARY_METRICS
from medstation.errors import ModelError
from medstation.resources import resource_path

SAMPLE = resource_path("sample", "images")
SHIPPED = "pneumonia-cxr-resnet18"
TINY_RECIPE = ["--steps", "30", "--batch-size", "32", "--widths", "8,16,32,64", "--learning-rate", "0.003"]


@pytest.fixture(scope="module")
def small_npz(tmp_path_factory, shared_path) -> Path:
    """A random subset of PneumoniaMNIST (320 train, 100 val, 160 test) with a made-up ``site`` attribute on
    the test split, one site holding normal images only."""
    generator = np.random.default_rng(0)
    arrays = {}
    with np.load(shared_path("medmnist", "pneumoniamnist.npz")) as archive:
        for split, count in (("train", 320), ("val", 100), ("test", 160)):
            picked = generator.choice(len(archive[f"{split}_labels"]), count, replace=False)
            arrays[f"{split}_images"] = archive[f"{split}_images"][picked]
            arrays[f"{split}_labels"] = archive[f"{split}_labels"][picked]
    labels = arrays["test_labels"].ravel()
    site = np.where(np.arange(labels.size) % 2 == 0, "north", "south").astype("U8")
    site[np.flatnonzero(labels == 0)[:5]] = "clinic"
    arrays["test_site"] = site
    path = tmp_path_factory.mktemp("data") / "small.npz"
    np.savez(path, **arrays)
    return path


@pytest.fixture(scope="module")
def trained(small_npz, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("bundles") / "tiny-cxr"
    argv = ["train", "classifier", "--data", str(small_npz), "--out", str(out), "--seed", "1",
            "--labels", "normal,pneumonia", "--modalities", "DX,CR", *TINY_RECIPE, "--json"]
    assert main(argv) == 0
    return out, json.loads((out / "configs" / "metadata.json").read_text())


@pytest.mark.slow
def test_training_writes_a_complete_bundle_that_learned(trained):
    out, metadata = trained
    bundle = open_bundle(out)
    bundle.verify_weights()
    state = bundle.load_state_dict()
    assert {str(v.dtype) for v in state.values() if v.is_floating_point()} == {"torch.float16"}
    assert metadata["labels"] == ["normal", "pneumonia"]
    assert metadata["input"]["modalities"] == ["DX", "CR"]
    assert metadata["decision"]["fitted_on"] == "val" and 0.0 < metadata["decision"]["threshold"] < 1.0
    assert metadata["calibration"]["fitted_on"] == "val" and metadata["calibration"]["temperature"] > 0
    assert metadata["training_data"]["splits"] == {"train": 320, "val": 100, "test": 160}
    assert metadata["training"]["command"].startswith("medstation train classifier --data ")
    assert metadata["metrics"]["test"]["auc"] > 0.75
    card = bundle.model_card()
    assert metadata["training"]["command"] in card and "not for diagnosis" in card


@pytest.mark.slow
def test_evaluate_json_has_the_design_keys_intervals_subgroups_and_plots(trained, small_npz, tmp_path, capsys):
    out, metadata = trained
    capsys.readouterr()
    code = main(["evaluate", "classifier", "--model", str(out), "--data", str(small_npz), "--split", "test",
                 "--subgroup", "site", "--plots", str(tmp_path), "--json"])
    assert code == 0
    document = json.loads(capsys.readouterr().out)
    assert {"model", "data", "split", "metrics", "baselines"} <= set(document)
    assert document["split"] == "test" and document["n"] == 160
    assert set(document["metrics"]) == set(SUMMARY_METRICS)
    assert document["metrics"]["auc"] == pytest.approx(metadata["metrics"]["test"]["auc"], abs=1e-6)
    assert sum(map(sum, document["confusion_matrix"])) == 160
    low, high = document["intervals"]["auc"]
    assert low <= document["metrics"]["auc"] <= high
    assert document["baselines"]["majority_class"]["auc"] == 0.5
    groups = document["subgroups"]["groups"]
    assert set(groups) == {"clinic", "north", "south"}
    assert groups["clinic"]["auc"] is None
    assert "accuracy" in document["subgroups"]["largest_gap"]
    for path in document["plots"].values():
        assert Path(path).read_bytes().startswith(b"\x89PNG")


@pytest.mark.slow
def test_evaluate_text_names_the_metrics(trained, small_npz, tmp_path, capsys):
    out, _ = trained
    assert main(["evaluate", "classifier", "--model", str(out), "--data", str(small_npz), "--split", "val",
                 "--plots", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "val split" in text and "auc" in text and "95% CI" in text


@pytest.mark.slow
def test_evaluate_without_plots_writes_no_files(trained, small_npz, tmp_path, monkeypatch, capsys):
    out, _ = trained
    monkeypatch.chdir(tmp_path)
    assert main(["evaluate", "classifier", "--model", str(out), "--data", str(small_npz), "--json"]) == 0
    assert "plots" not in json.loads(capsys.readouterr().out)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_classify_folder_json_with_a_damaged_file_skipped(trained, tmp_path, capsys):
    out, _ = trained
    folder = tmp_path / "study"
    shutil.copytree(SAMPLE, folder)
    damaged = folder / "damaged.dcm"
    damaged.write_bytes((SAMPLE / "sample-01.dcm").read_bytes()[:300])
    capsys.readouterr()
    assert main(["classify", str(folder), "--model", str(out), "--json"]) == 0
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert document["model"] == "tiny-cxr"
    assert [Path(r["path"]).name for r in document["results"]] == (
        [f"cxr-{i:02d}.dcm" for i in range(1, 13)] + [f"sample-0{i}.dcm" for i in range(1, 7)])
    for result in document["results"]:
        assert set(result) == {"path", "probabilities", "prediction"}
        assert set(result["probabilities"]) == {"normal", "pneumonia"}
        assert sum(result["probabilities"].values()) == pytest.approx(1.0)
        assert result["prediction"] in ("normal", "pneumonia")
    assert [Path(entry["path"]).name for entry in document["skipped"]] == ["damaged.dcm"]
    assert document["skipped"][0]["reason"]
    assert "damaged.dcm" in captured.err


@pytest.mark.slow
def test_classify_a_single_unreadable_file_exits_1_naming_it(trained, tmp_path, capsys):
    out, _ = trained
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a picture")
    assert main(["classify", str(broken), "--model", str(out)]) == 1
    err = capsys.readouterr().err
    assert str(broken) in err and "Traceback" not in err


def test_shipped_bundle_loads_and_its_checksum_verifies():
    try:
        bundle = find_bundle(SHIPPED)
    except ModelError as error:
        pytest.skip(f"the shipped bundle {SHIPPED} is not in the shipped models folder yet ({error})")
    bundle.verify_weights()
    assert bundle.weights_path.stat().st_size < 25 * 1024 * 1024
    from medstation.engine.classifier.model import classifier_from_bundle
    from medstation.io.open_study import open_image

    classifier = classifier_from_bundle(bundle, "cpu")
    assert classifier.labels == ("normal", "pneumonia")
    prediction = classifier.predict(open_image(SAMPLE / "sample-04.dcm").volume)
    assert sum(prediction.probabilities.values()) == pytest.approx(1.0)
    card = bundle.model_card()
    assert "10.1038/s41597-022-01721-8" in card and "CC BY 4.0" in card
