"""Classifier bundles with freshly initialised (seeded) weights: enough to test wiring and inputs, not predictions."""

from __future__ import annotations

from pathlib import Path

SMALL = {"architecture": "resnet18", "widths": [4, 8, 8, 8], "stem": "3x3"}


def untrained_bundle(root: Path, modalities=("DX", "CR")):
    """Write a two-label (normal, pneumonia) bundle for grey 28x28 images at ``root`` and return it opened."""
    import torch

    from medstation.engine.bundles.store import write_bundle
    from medstation.engine.classifier.network import build_network

    torch.manual_seed(0)
    network = build_network(SMALL, 2, 1, 2)
    metadata = {
        "version": "1.0.0",
        "task": "classification",
        "labels": ["normal", "pneumonia"],
        "input": {
            "spatial_dims": 2,
            "spatial_size": [28, 28],
            "channels": 1,
            "intensity": {"method": "minmax"},
            "modalities": list(modalities),
        },
        "network": SMALL,
        "training_data": {"name": "none"},
        "metrics": {},
        "calibration": {"temperature": 2.0},
        "decision": {"positive_label": "pneumonia", "threshold": 0.5},
    }
    return write_bundle(root, metadata, network.state_dict(), "# untrained\n")
