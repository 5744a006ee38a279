"""A classifier bundle as the judge of synthetic images: its penultimate-layer features and class probabilities.

The features are the input of the classifier's last linear layer (after global average pooling), computed with
the classifier's own preprocessing (resize to its input size, its intensity normalisation). The network was
trained on the same domain and is never part of a generator's training loss, so distances in its feature space
measure the generator, not what the generator was optimised against.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from medstation.engine.bundles import IntensitySpec
from medstation.engine.calibration import apply_temperature
from medstation.engine.classifier import (
    Classifier,
    judged_labels,
    label_probability,
    load_classifier,
    normalise_intensity,
    resize_batch,
)
from medstation.engine.families import FAMILIES
from medstation.engine.runtime import load_torch
from medstation.errors import ModelError
from medstation.progress import CancelToken, ProgressCallback, check_cancelled, report

torch = load_torch()

FEATURE_CLASSIFIER = FAMILIES["classifier"].shipped
_BATCH = 256


def _stored_units(images: np.ndarray, intensity: IntensitySpec) -> np.ndarray:
    """Images in [0, 1] back in the units ``intensity`` maps to [0, 1] (``range``: ``a_min`` to ``a_max``)."""
    if intensity.method == "range":
        low, high = intensity.parameters["a_min"], intensity.parameters["a_max"]
        return (low + images * (high - low)).astype(np.float32)
    return np.asarray(images, dtype=np.float32)


@dataclass
class FeatureNetwork:
    """A loaded classifier whose penultimate features and calibrated probabilities are read in one pass."""

    classifier: Classifier

    @property
    def description(self) -> str:
        network = self.classifier.bundle.metadata.document.get("network", {})
        return (f"{self.classifier.name} ({network.get('architecture', 'classifier')}) penultimate layer, "
                f"{self.width} features")

    @property
    def width(self) -> int:
        return int(self.classifier.network.fc.in_features)

    def check_labels(self, labels: list[str]) -> None:
        """ModelError unless the classifier knows every label of the generator (a combination's name counts)."""
        known = judged_labels(self.classifier.labels, self.classifier.decision)
        missing = [label for label in labels if label not in known]
        if missing:
            raise ModelError(
                f"{self.classifier.bundle.root}: the classifier does not know the classes {missing}; "
                "choose a classifier trained on the generator's classes"
            )

    def read(self, images: np.ndarray, intensity: IntensitySpec | None = None,
             progress: ProgressCallback | None = None, cancel: CancelToken = None) -> tuple[np.ndarray, np.ndarray]:
        """``(features [N, width], probabilities [N, labels])`` of images ``[N, H, W]`` in [0, 1], where [0, 1]
        stands for ``intensity`` (default: the classifier's own normalisation)."""
        spec = self.classifier.input_spec
        raw = _stored_units(np.asarray(images, dtype=np.float32), intensity or spec.intensity)[:, np.newaxis]
        captured = []
        hook = self.classifier.network.fc.register_forward_hook(lambda _m, inputs, _o: captured.append(inputs[0]))
        logits = []
        try:
            with torch.inference_mode():
                for start in range(0, len(raw), _BATCH):
                    check_cancelled(cancel)
                    batch = normalise_intensity(resize_batch(raw[start : start + _BATCH], spec.spatial_size),
                                                spec.intensity)
                    logits.append(self.classifier.network(torch.from_numpy(batch).to(self.classifier.device)))
                    report(progress, (start + _BATCH) / len(raw), "reading features")
        finally:
            hook.remove()
        features = torch.cat(captured).double().cpu().numpy()
        probabilities = apply_temperature(torch.cat(logits).double().cpu().numpy(), self.classifier.temperature)
        return features, probabilities


def load_feature_network(classifier: str = FEATURE_CLASSIFIER) -> FeatureNetwork:
    """The classifier bundle ``classifier`` (a name or folder) as a feature network."""
    loaded = load_classifier(classifier)
    if not hasattr(loaded.network, "fc"):
        raise ModelError(f"{loaded.bundle.root}: the network has no final linear layer 'fc' to read features before")
    return FeatureNetwork(loaded)


def requested_class_probability(probabilities: np.ndarray, labels: list[str], classifier: Classifier) -> np.ndarray:
    """Each row's probability of the class named in ``labels`` (a combination's name: its members' sum)."""
    return label_probability(probabilities, classifier.labels, classifier.decision, labels)


def conditional_confidence(images: np.ndarray, labels: list[str],
                           classifier: str = FEATURE_CLASSIFIER) -> np.ndarray:
    """The classifier's calibrated probability of each image's requested class; images ``[N, H, W]`` in [0, 1]
    as the classifier's intensity normalisation produces them."""
    if len(images) != len(labels):
        raise ModelError(f"{len(images)} images but {len(labels)} requested classes")
    network = load_feature_network(classifier)
    network.check_labels(list(labels))
    _, probabilities = network.read(images)
    return requested_class_probability(probabilities, list(labels), network.classifier)
