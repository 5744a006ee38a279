"""Classifier bundles with freshly initialised (seeded) weights: enough to test wiring and inputs, not predictions."""

from __future__ import annotations

from pathlib import Path

SMALL = {"architecture": "resnet18", "widths": [4, 8, 8, 8], "stem": "3x3"}


COMBINED_LABELS = ("bacteria", "normal", "virus")
COMBINED_DECISION = {"positive_label": "pneumonia", "members": ["bacteria", "virus"], "threshold": 0.5}


def untrained_bundle(root: Path, modalities=("DX", "CR"), size: int = 28, labels=("normal", "pneumonia"),
                     decision=None):
    """Write a bundle for grey ``size`` x ``size`` images at ``root`` and return it opened: two labels (normal,
    pneumonia) by default; ``labels=COMBINED_LABELS, decision=COMBINED_DECISION`` for a combination's three."""
    import torch

    from medstation.engine.bundles.store import write_bundle
    from medstation.engine.classifier.network import build_network

    torch.manual_seed(0)
    network = build_network(SMALL, 2, 1, len(labels))
    metadata = {
        "version": "1.0.0",
        "task": "classification",
        "labels": list(labels),
        "input": {
            "spatial_dims": 2,
            "spatial_size": [size, size],
            "channels": 1,
            "intensity": {"method": "minmax"},
            "modalities": list(modalities),
        },
        "network": SMALL,
        "training_data": {"name": "none"},
        "metrics": {},
        "calibration": {"temperature": 2.0},
        "decision": decision or {"positive_label": "pneumonia", "threshold": 0.5},
    }
    return write_bundle(root, metadata, network.state_dict(), "# untrained\n")
