"""Model bundles: layout, metadata schema, checksums, safe loading, atomic writing, registry."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import pytest
import torch

from medstation.engine.bundles.metadata import metadata_problems, read_metadata
from medstation.engine.bundles.registry import find_bundle, list_bundles
from medstation.engine.bundles.store import CARD_FILE, METADATA_FILE, WEIGHTS_FILE, open_bundle, write_bundle
from medstation.engine.bundles.weights import load_into, sha256_of
from medstation.errors import ModelError


def classifier_metadata() -> dict:
    return {
        "version": "1.0.0",
        "task": "classification",
        "description": "test classifier",
        "labels": ["normal", "pneumonia"],
        "input": {
            "spatial_dims": 2,
            "spatial_size": [28, 28],
            "channels": 1,
            "intensity": {"method": "range", "a_min": 0, "a_max": 255},
            "modalities": ["DX", "CR"],
        },
        "training_data": {"name": "PneumoniaMNIST", "licence": "CC BY 4.0", "splits": {"train": 4708, "val": 524}},
        "metrics": {"test": {"auc": 0.97, "accuracy": 0.9, "auc_ci95": [0.96, 0.98]}},
        "network": {"name": "resnet18"},
    }


def small_state_dict() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    layer = torch.nn.Linear(4, 2)
    return layer.state_dict()


@pytest.fixture
def bundle_root(tmp_path) -> Path:
    write_bundle(tmp_path / "models" / "tiny", classifier_metadata(), small_state_dict(), "# Tiny\n")
    return tmp_path / "models" / "tiny"


class WritesAFile:
    """A pickle payload that creates ``target`` when unpickled."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):
        return (Path.touch, (self.target,))


def test_written_bundle_has_the_layout_and_loads_its_weights(bundle_root):
    for part in (METADATA_FILE, WEIGHTS_FILE, CARD_FILE):
        assert (bundle_root / part).is_file()
    bundle = open_bundle(bundle_root)
    assert bundle.name == "tiny"
    assert bundle.metadata.weights_sha256 == sha256_of(bundle_root / WEIGHTS_FILE)
    assert bundle.metadata.labels == ("normal", "pneumonia")
    spec = bundle.metadata.input_spec
    assert spec.spatial_size == (28, 28) and spec.channels == 1 and spec.modalities == ("DX", "CR")
    assert spec.intensity.method == "range" and spec.intensity.parameters == {"a_min": 0.0, "a_max": 255.0}
    assert bundle.metadata.document["network"] == {"name": "resnet18"}
    loaded = bundle.load_state_dict()
    expected = small_state_dict()
    assert set(loaded) == set(expected)
    assert all(torch.equal(loaded[key], expected[key]) for key in expected)
    assert bundle.model_card() == "# Tiny\n"
    assert [p.name for p in bundle_root.parent.iterdir()] == ["tiny"]


def test_wrong_checksum_is_refused(bundle_root):
    tampered = {key: value + 1 for key, value in small_state_dict().items()}
    torch.save(tampered, bundle_root / WEIGHTS_FILE)
    with pytest.raises(ModelError, match="does not match") as caught:
        open_bundle(bundle_root).load_state_dict()
    assert str(bundle_root / WEIGHTS_FILE) in str(caught.value)


@pytest.mark.parametrize("writer", ["torch.save", "pickle.dump"])
def test_a_pickle_that_runs_code_is_refused_even_with_a_matching_checksum(bundle_root, tmp_path, writer):
    marker = tmp_path / "pwned"
    payload = {"weight": WritesAFile(marker)}
    weights = bundle_root / WEIGHTS_FILE
    if writer == "torch.save":
        torch.save(payload, weights)
    else:
        weights.write_bytes(pickle.dumps(payload, protocol=2))
    metadata_path = bundle_root / METADATA_FILE
    document = json.loads(metadata_path.read_text())
    document["weights"]["sha256"] = sha256_of(weights)
    metadata_path.write_text(json.dumps(document))

    with pytest.raises(ModelError, match="refused to load: the file calls") as caught:
        open_bundle(bundle_root).load_state_dict()
    assert str(weights) in str(caught.value)
    assert not marker.exists()

    control = tmp_path / "control"
    pickle.loads(pickle.dumps(WritesAFile(control)))
    assert control.exists(), "the payload must really run code when unpickled without restrictions"


def test_weights_that_are_not_a_state_dict_are_refused(bundle_root):
    weights = bundle_root / WEIGHTS_FILE
    torch.save([torch.zeros(2)], weights)
    metadata_path = bundle_root / METADATA_FILE
    document = json.loads(metadata_path.read_text())
    document["weights"]["sha256"] = sha256_of(weights)
    metadata_path.write_text(json.dumps(document))
    with pytest.raises(ModelError, match="not a state_dict"):
        open_bundle(bundle_root).load_state_dict()


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"", "not a readable"), (b"garbage" * 8, "not a plain"), (b"s" * 64, "not a readable")],
    ids=["empty", "not-a-pickle", "pickle-popping-an-empty-stack"],
)
def test_damaged_weights_with_a_matching_checksum_are_refused(bundle_root, content, reason):
    weights = bundle_root / WEIGHTS_FILE
    weights.write_bytes(content)
    metadata_path = bundle_root / METADATA_FILE
    document = json.loads(metadata_path.read_text())
    document["weights"]["sha256"] = sha256_of(weights)
    metadata_path.write_text(json.dumps(document))
    with pytest.raises(ModelError, match=reason) as caught:
        open_bundle(bundle_root).load_state_dict()
    assert str(weights) in str(caught.value)


def test_metadata_errors_name_the_file_and_every_field(bundle_root):
    path = bundle_root / METADATA_FILE
    document = json.loads(path.read_text())
    document["version"] = "one"
    document["input"]["spatial_size"] = [28]
    document["input"]["intensity"] = {"method": "zscore", "mean": 0.5}
    del document["labels"]
    path.write_text(json.dumps(document))
    with pytest.raises(ModelError) as caught:
        read_metadata(path)
    message = str(caught.value)
    assert message.startswith(str(path))
    for field in ("'version'", "'input.spatial_size'", "'input.intensity.std'", "'labels'"):
        assert field in message


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.update(task="segmentation"), "'task'"),
        (lambda d: d.update(labels=["a", "a"]), "'labels'"),
        (lambda d: d["input"].update(spatial_dims=4), "'input.spatial_dims'"),
        (lambda d: d["input"].update(channels=0), "'input.channels'"),
        (lambda d: d["input"]["intensity"].update(a_max=-1), "'input.intensity.a_max'"),
        (lambda d: d["input"].update(modalities="DX"), "'input.modalities'"),
        (lambda d: d.pop("training_data"), "'training_data'"),
        (lambda d: d["training_data"].update(splits={"train": -3}), "'training_data.splits.train'"),
        (lambda d: d["metrics"]["test"].update(auc="high"), "'metrics.test.auc'"),
        (lambda d: d.update(weights={"sha256": "ABC"}), "'weights.sha256'"),
    ],
)
def test_each_schema_rule_names_its_field(change, field):
    document = classifier_metadata()
    document["weights"] = {"sha256": "0" * 64}
    assert metadata_problems(document) == []
    change(document)
    problems = metadata_problems(document)
    assert len(problems) == 1 and problems[0].startswith(field), problems


def test_forecasting_bundle_needs_no_labels_or_image_input():
    document = {
        "version": "0.1.0",
        "task": "forecasting",
        "training_data": {"name": "PhysioNet 2012"},
        "metrics": {},
        "weights": {"sha256": "a" * 64},
    }
    assert metadata_problems(document) == []


def test_unreadable_metadata_names_the_file(bundle_root):
    path = bundle_root / METADATA_FILE
    path.write_text("{not json")
    with pytest.raises(ModelError, match="not valid JSON") as caught:
        open_bundle(bundle_root)
    assert str(path) in str(caught.value)


def _deeply_nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (_deeply_nested(100_000), "nested more than 64 levels deep"),
        (json.dumps(classifier_metadata())[:-1] + f', "extra": {_deeply_nested(990)}}}', "nested more than 64"),
        ('{"version": ' + "9" * 5000 + "}", "cannot read bundle metadata"),
    ],
    ids=["deep-100000", "deep-990-field", "huge-integer"],
)
def test_metadata_json_cannot_load_names_the_file(bundle_root, text, reason):
    path = bundle_root / METADATA_FILE
    path.write_text(text)
    with pytest.raises(ModelError, match=reason) as caught:
        open_bundle(bundle_root)
    assert str(path) in str(caught.value)


def test_registry_lists_the_other_bundles_beside_one_with_too_deeply_nested_metadata(bundle_root):
    deep = bundle_root.parent / "deep"
    (deep / METADATA_FILE).parent.mkdir(parents=True)
    (deep / METADATA_FILE).write_text(_deeply_nested(100_000))
    entries = {entry.name: entry for entry in list_bundles([("user", bundle_root.parent)])}
    assert entries["tiny"].valid
    assert not entries["deep"].valid and str(deep / METADATA_FILE) in entries["deep"].problem


def test_write_bundle_refuses_to_replace_unless_asked_and_leaves_nothing_behind(bundle_root):
    with pytest.raises(ModelError, match="already exists"):
        write_bundle(bundle_root, classifier_metadata(), small_state_dict(), "# Other\n")
    metadata = classifier_metadata()
    metadata["version"] = "2.0.0"
    write_bundle(bundle_root, metadata, small_state_dict(), "# Other\n", overwrite=True)
    assert open_bundle(bundle_root).metadata.version == "2.0.0"
    assert [p.name for p in bundle_root.parent.iterdir()] == ["tiny"]


def test_failed_overwrite_keeps_the_old_bundle(bundle_root):
    metadata = classifier_metadata()
    metadata["version"] = "2.0"
    with pytest.raises(ModelError, match="'version'"):
        write_bundle(bundle_root, metadata, small_state_dict(), "# New\n", overwrite=True)
    with pytest.raises(ModelError, match="holds list") as caught:
        write_bundle(bundle_root, classifier_metadata(), {"weight": [1.0]}, "# New\n", overwrite=True)
    assert str(bundle_root / WEIGHTS_FILE) in str(caught.value)
    bundle = open_bundle(bundle_root)
    assert bundle.metadata.version == "1.0.0" and bundle.model_card() == "# Tiny\n"
    bundle.verify_weights()
    assert [p.name for p in bundle_root.parent.iterdir()] == ["tiny"]


def test_write_bundle_with_invalid_metadata_writes_nothing(tmp_path):
    metadata = classifier_metadata()
    metadata["input"]["channels"] = "one"
    with pytest.raises(ModelError, match=r"input\.channels") as caught:
        write_bundle(tmp_path / "bad", metadata, small_state_dict(), "# Bad\n")
    assert str(tmp_path / "bad" / METADATA_FILE) in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_registry_lists_valid_and_broken_bundles_and_finds_by_name(bundle_root, tmp_path):
    installed = bundle_root.parent
    user = tmp_path / "user-models"
    write_bundle(user / "tiny", classifier_metadata(), small_state_dict(), "# Copy\n")
    shutil.copytree(bundle_root, user / "damaged")
    (user / "damaged" / WEIGHTS_FILE).write_bytes(b"not the weights")
    (user / "empty").mkdir()
    folders = [("installed", installed), ("user", user)]

    entries = {(entry.source, entry.name): entry for entry in list_bundles(folders)}
    assert set(entries) == {("installed", "tiny"), ("user", "damaged"), ("user", "empty"), ("user", "tiny")}
    assert entries["installed", "tiny"].valid
    assert "does not match" in entries["user", "damaged"].problem
    assert entries["user", "damaged"].as_dict()["labels"] == ["normal", "pneumonia"]
    assert "metadata file is missing" in entries["user", "empty"].problem
    assert entries["user", "empty"].as_dict()["task"] is None
    assert "shadowed" in entries["user", "tiny"].problem

    assert find_bundle("tiny", folders).root == bundle_root
    assert find_bundle(str(user / "tiny"), folders).root == user / "tiny"
    with pytest.raises(ModelError, match="no model bundle of that name"):
        find_bundle("absent", folders)


def test_weights_of_another_network_are_refused_briefly_naming_the_file(tmp_path):
    path = tmp_path / "model.pt"
    network = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Linear(3, 2))
    other = {f"block{k}.weight": torch.zeros(2, 2) for k in range(50)}
    with pytest.raises(ModelError) as refused:
        load_into(network, other, path, "test network")
    message = str(refused.value)
    assert message.startswith(f"{path}: not weights of the test network: 4 of its 4 tensors are missing and 50")
    assert len(message) < 300
    reshaped = {name: torch.zeros(5, *value.shape[1:]) for name, value in network.state_dict().items()}
    with pytest.raises(ModelError, match=r"model\.pt: the weights do not fit the test network \(size mismatch"):
        load_into(network, reshaped, path, "test network")
    load_into(network, {name: torch.ones_like(value) for name, value in network.state_dict().items()}, path, "x")
    assert all(bool((value == 1).all()) for value in network.state_dict().values())
