"""A CNN image classifier loaded from a model bundle: preprocessing from the bundle, batched inference.

Public API
----------
load_classifier(name_or_path, device=None) -> Classifier
    Open a classification bundle from the registry or a folder, verify and load its weights.
Classifier.predict(image) -> Prediction
    One image: a :class:`~medstation.core.volume.Volume` (a radiograph, a CT volume) or an array
    ``[j, i]`` / ``[k, j, i]`` (one channel) or ``(channels, *spatial)``.
Classifier.predict_batch(images) -> list[Prediction]
    Many images, run through the network in batches under ``torch.inference_mode()``.
Classifier.probabilities(batch) -> ndarray
    Calibrated class probabilities ``(N, labels)`` of an already prepared batch.

Metadata a classifier bundle adds to the common schema (see :mod:`medstation.engine.bundles.metadata`):

- ``network``: the network spec of :mod:`medstation.engine.classifier.network`.
- ``calibration``: ``{"temperature": T, "fitted_on": "val"}``; probabilities are ``softmax(logits / T)``.
- ``decision``: ``{"positive_label": L, "threshold": t, "method": "youden", "fitted_on": "val"}`` for two
  labels: an image is called ``L`` when its calibrated probability of ``L`` is at least ``t``; with a combination
  of labels (``"members"``) ``t`` applies to their summed probability (:mod:`~medstation.engine.classifier.decision`).
  With more labels and no combination the most probable label is the prediction.

The workstation imports this module when it starts, so it imports no torch: the network module
(:mod:`~medstation.engine.classifier.network`, torch and MONAI) is imported where a network is built and where a
batch is run through it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from medstation.core.volume import Volume
from medstation.engine.bundles import Bundle, InputSpec, find_bundle, load_into
from medstation.engine.calibration import apply_temperature
from medstation.engine.classifier.decision import combined_probabilities, decide
from medstation.engine.classifier.inputs import check_channels, prepare_batch, volume_to_input
from medstation.engine.families import FAMILIES
from medstation.engine.runtime import configure_threads, select_device
from medstation.errors import ModelError
from medstation.progress import CancelToken, ProgressCallback

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True)
class Prediction:
    """Calibrated probability per label (in the bundle's label order) and the predicted label."""

    probabilities: dict[str, float]
    label: str

    def as_dict(self) -> dict[str, Any]:
        return {"probabilities": self.probabilities, "prediction": self.label}


@dataclass
class Classifier:
    """A classification bundle with its network loaded on ``device``: ``network`` as trained (evaluation mode),
    ``inference_network`` the copy with batch normalisation folded that predictions run through."""

    bundle: Bundle
    network: nn.Module
    inference_network: nn.Module
    device: str

    @property
    def name(self) -> str:
        return self.bundle.name

    @property
    def labels(self) -> tuple[str, ...]:
        return self.bundle.metadata.labels

    @property
    def input_spec(self) -> InputSpec:
        return self.bundle.metadata.input_spec

    @property
    def temperature(self) -> float:
        return float(self.bundle.metadata.document.get("calibration", {}).get("temperature", 1.0))

    @property
    def decision(self) -> dict[str, Any]:
        """The ``decision`` metadata: positive label and threshold for two labels, empty otherwise."""
        return dict(self.bundle.metadata.document.get("decision") or {})

    def image_input(self, image: Volume | np.ndarray, source: str = "image") -> np.ndarray:
        """One image as ``(channels, *spatial)`` float32, refused with a ModelError if the model cannot take it."""
        spec = self.input_spec
        if isinstance(image, Volume):
            return volume_to_input(image, spec, source)
        array = np.asarray(image, dtype=np.float32)
        if array.ndim == spec.spatial_dims:
            array = array[np.newaxis]
        return check_channels(array, spec, source)

    def probabilities(self, batch: np.ndarray, progress: ProgressCallback | None = None,
                      cancel: CancelToken = None) -> np.ndarray:
        """Calibrated probabilities ``(N, labels)`` of a batch prepared by :func:`prepare_batch`."""
        return apply_temperature(self.logits(batch, progress, cancel), self.temperature)

    def logits(self, batch: np.ndarray, progress: ProgressCallback | None = None,
               cancel: CancelToken = None) -> np.ndarray:
        """Uncalibrated logits ``(N, labels)`` of a prepared batch."""
        from medstation.engine.classifier.network import network_logits

        return network_logits(self.inference_network, batch, self.input_spec.spatial_dims, self.device,
                              progress=progress, cancel=cancel)

    def decide(self, probabilities: np.ndarray) -> list[str]:
        """The predicted label of each row of calibrated probabilities
        (:func:`medstation.engine.classifier.decision.decide`)."""
        return decide(probabilities, self.labels, self.decision)

    def combined(self, probabilities: np.ndarray) -> dict[str, np.ndarray]:
        """``{union name: summed probability per row}`` when the bundle combines labels, else empty."""
        return combined_probabilities(probabilities, self.labels, self.decision)

    def predict_batch(self, images: Sequence[Volume | np.ndarray] | np.ndarray,
                      progress: ProgressCallback | None = None, cancel: CancelToken = None) -> list[Prediction]:
        """Predictions for several images (a list, or an array ``(N, channels, *spatial)``), batched."""
        inputs = [self.image_input(image, f"image {index}") for index, image in enumerate(images)]
        probabilities = self.probabilities(prepare_batch(inputs, self.input_spec), progress, cancel)
        return [
            Prediction({label: float(p) for label, p in zip(self.labels, row, strict=True)}, label)
            for row, label in zip(probabilities, self.decide(probabilities), strict=True)
        ]

    def predict(self, image: Volume | np.ndarray) -> Prediction:
        """The prediction for one image (see :meth:`image_input` for what is accepted)."""
        return self.predict_batch([image])[0]


def classifier_from_bundle(bundle: Bundle, device: str | None = None) -> Classifier:
    """Build the bundle's network and load its verified weights on ``device`` (default: the engine's device)."""
    from medstation.engine.classifier.network import build_network, fold_batch_norm, prepare_network

    FAMILIES["classifier"].check(bundle)
    metadata = bundle.metadata
    spec = metadata.input_spec
    network_spec = metadata.document.get("network")
    if not isinstance(network_spec, dict):
        raise ModelError(f"{bundle.metadata_path}: 'network' is missing; the bundle does not say which network it is")
    device = device or select_device()
    configure_threads()
    network = build_network(network_spec, spec.spatial_dims, spec.channels, len(metadata.labels))
    load_into(network, bundle.load_state_dict(), bundle.weights_path, f"{network_spec} network")
    network = prepare_network(network.float(), spec.spatial_dims, device)
    return Classifier(bundle, network, fold_batch_norm(network, spec.spatial_dims, device), device)


def load_classifier(name_or_path: str, device: str | None = None) -> Classifier:
    """The classifier of a bundle named in the registry or at a folder path."""
    return classifier_from_bundle(find_bundle(name_or_path), device)

