"""``medstation models``: installed bundles with name, task, version, labels, location and validity."""

from __future__ import annotations

import json

import pytest
import torch

from medstation.cli import main
from medstation.engine.bundles.store import WEIGHTS_FILE, write_bundle
from medstation.paths import user_models_dir
from medstation.resources import installed_models_dir

METADATA = {
    "version": "0.3.1",
    "task": "classification",
    "labels": ["benign", "malignant"],
    "input": {"spatial_dims": 2, "spatial_size": [32, 32], "channels": 3, "intensity": {"method": "minmax"}},
    "training_data": {"name": "a test set"},
    "metrics": {},
}


@pytest.fixture
def user_bundles(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDSTATION_HOME", str(tmp_path / "home"))
    models = user_models_dir()
    weights = {"weight": torch.ones(2, 2)}
    write_bundle(models / "lesions", METADATA, weights, "# Lesions\n")
    write_bundle(models / "tampered", METADATA, weights, "# Tampered\n")
    (models / "tampered" / WEIGHTS_FILE).write_bytes(b"swapped")
    return models


def test_models_json_lists_user_bundles_with_their_validity(user_bundles, capsys):
    assert main(["models", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {"source": "user", "path": str(user_bundles)} in report["folders"]
    assert {"source": "installed", "path": str(installed_models_dir())} in report["folders"]
    user = {entry["name"]: entry for entry in report["models"] if entry["source"] == "user"}
    assert set(user) == {"lesions", "tampered"}
    assert user["lesions"] == {
        "name": "lesions",
        "task": "classification",
        "version": "0.3.1",
        "labels": ["benign", "malignant"],
        "location": str(user_bundles / "lesions"),
        "source": "user",
        "valid": True,
        "problem": None,
    }
    assert user["tampered"]["valid"] is False
    assert str(user_bundles / "tampered" / WEIGHTS_FILE) in user["tampered"]["problem"]
    assert "does not match" in user["tampered"]["problem"]


def test_models_text_names_each_bundle_and_why_one_is_invalid(user_bundles, capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "lesions  classification  0.3.1  labels: benign, malignant" in out
    assert f"user: {user_bundles / 'lesions'}\n    valid" in out
    assert "INVALID: " in out and "does not match" in out


def test_models_with_no_bundles_says_where_it_looked(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MEDSTATION_HOME", str(tmp_path / "empty-home"))
    monkeypatch.setattr("medstation.engine.bundles.registry.installed_models_dir", lambda: tmp_path / "no-models")
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("no model bundles installed") and str(tmp_path / "no-models") in out
