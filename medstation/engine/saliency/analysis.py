"""Classify one open image with a bundle and explain the result: what the workstation's AI panel runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from medstation.core.layers import OverlayLayer, saliency_overlay
from medstation.core.volume import Volume
from medstation.engine.classifier import Prediction, label_probability, load_classifier
from medstation.engine.saliency.bundle import BundleExplanation, explain_with_bundle
from medstation.progress import CancelToken, ProgressCallback, check_cancelled, report


@dataclass(frozen=True)
class ProbabilityRow:
    """One row of what the AI panel lists: a label, its calibrated probability, and its depth (1 for a member of a
    combination listed under the combination)."""

    label: str
    probability: float
    depth: int = 0
    members: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImageAnalysis:
    """A bundle's calibrated prediction for one image and, when asked for, its saliency map."""

    model: str
    prediction: Prediction
    threshold: float | None
    explanation: BundleExplanation | None
    decision: dict[str, Any] = field(default_factory=dict)
    """The bundle's ``decision`` metadata (:mod:`medstation.engine.classifier.decision`)."""

    @property
    def members(self) -> tuple[str, ...]:
        """The labels the decision combines into one (``bacteria``, ``virus`` of ``pneumonia``); empty if none."""
        return tuple(self.decision.get("members", ()))

    def probability_rows(self) -> list[ProbabilityRow]:
        """Every label with its probability in the bundle's order; a combination's union (its members' summed
        probability) where its first member would be, with its members under it."""
        probabilities = self.prediction.probabilities
        labels = list(probabilities)
        members = self.members
        if not members:
            return [ProbabilityRow(label, probability) for label, probability in probabilities.items()]
        union = self.decision["positive_label"]
        row = np.array([[probabilities[label] for label in labels]])
        (union_probability,) = label_probability(row, labels, self.decision, [union])
        rows = []
        for label in labels:
            if label == members[0]:
                rows.append(ProbabilityRow(union, float(union_probability), members=members))
                rows += [ProbabilityRow(member, probabilities[member], depth=1) for member in members]
            elif label not in members:
                rows.append(ProbabilityRow(label, probabilities[label]))
        return rows

    def call_text(self) -> str:
        """The call in words, with the threshold it was made at: ``"pneumonia, most likely bacteria (threshold 0.430
        on pneumonia, fitted on validation)"``; a plain label where nothing is combined."""
        label, members = self.prediction.label, self.members
        union = self.decision.get("positive_label")
        call = f"{union}, most likely {label}" if label in members else label
        if self.threshold is None:
            return call
        on = f" on {union}" if members else ""
        return f"{call} (threshold {self.threshold:.3f}{on}, fitted on validation)"


def analyse_image(
    model: str,
    volume: Volume,
    method: str | None = "gradcam",
    progress: ProgressCallback | None = None,
    cancel: CancelToken = None,
) -> ImageAnalysis:
    """Classify ``volume`` with the bundle ``model``; with a saliency ``method``, explain the predicted label.

    The map comes with its deletion-curve faithfulness score against random maps.
    """
    report(progress, 0.0, f"loading {model}")
    classifier = load_classifier(model)
    check_cancelled(cancel)
    report(progress, 0.2, "classifying")
    prediction = classifier.predict(volume)
    explanation = None
    if method is not None:
        check_cancelled(cancel)
        explanation = explain_with_bundle(
            classifier,
            volume,
            method,
            classifier.labels.index(prediction.label),
            with_faithfulness=True,
            progress=lambda f, m: report(progress, 0.3 + 0.7 * f, m),
            cancel=cancel,
        )
    report(progress, 1.0, "done")
    decision = classifier.decision
    return ImageAnalysis(classifier.name, prediction, decision.get("threshold"), explanation, decision)


def saliency_layer(analysis: ImageAnalysis) -> OverlayLayer:
    """The saliency map of an analysis that has one, as a heat-map layer ``[k, j, i]`` over the one-slice image it
    explains, captioned with the method and the label it explains."""
    explanation = analysis.explanation
    values = explanation.saliency.values[np.newaxis].astype(np.float32)
    return saliency_overlay(values, f"{explanation.saliency.label}: {explanation.label}")
