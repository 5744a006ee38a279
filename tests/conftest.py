"""Test set-up: offscreen Qt, and user data, settings and logs in a throw-away folder."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_sandbox = tempfile.mkdtemp(prefix="medstation-tests-")
os.environ["MEDSTATION_HOME"] = os.path.join(_sandbox, "home")
os.environ["XDG_CONFIG_HOME"] = os.path.join(_sandbox, "config")
os.environ.pop("MEDSTATION_DEVICE", None)


SHARED_DATA = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def shared_path():
    """``shared_path(*parts)``: a path under ``../shared/data``; skips the test, saying why, when it is absent."""

    def locate(*parts: str) -> Path:
        path = SHARED_DATA.joinpath(*parts)
        if not path.exists():
            pytest.skip(f"needs the shared real data at {path} (see DATA.md)")
        return path

    return locate


@pytest.fixture
def untrained_classifier_bundle(tmp_path, monkeypatch) -> str:
    """A randomly initialised (seeded) small ResNet bundle for grey 28x28 DX/CR images, in the user models folder.

    For wiring tests: it runs end to end but has learned nothing.
    """
    import torch

    from medstation.engine.bundles import write_bundle
    from medstation.engine.classifier_networks import build_network, default_network_spec

    monkeypatch.setenv("MEDSTATION_HOME", str(tmp_path / "home"))
    network_spec = default_network_spec(widths=(4, 8, 8, 8))
    torch.manual_seed(0)
    network = build_network(network_spec, 2, 1, 2)
    metadata = {
        "version": "0.1.0",
        "task": "classification",
        "labels": ["normal", "pneumonia"],
        "input": {
            "spatial_dims": 2,
            "spatial_size": [28, 28],
            "channels": 1,
            "intensity": {"method": "minmax"},
            "modalities": ["DX", "CR"],
        },
        "network": network_spec,
        "training_data": {"name": "none: randomly initialised weights for a wiring test"},
        "metrics": {},
    }
    write_bundle(tmp_path / "home" / "models" / "wiring-test", metadata, network.state_dict(), "# Untrained\n")
    return "wiring-test"
