"""Classify one open image with a bundle and explain the result: what the workstation's AI panel runs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from medstation.core.layers import OverlayLayer, saliency_overlay
from medstation.core.volume import Volume
from medstation.engine.classifier import Prediction, load_classifier
from medstation.engine.saliency.bundle import BundleExplanation, explain_with_bundle
from medstation.progress import CancelToken, ProgressCallback, check_cancelled, report


@dataclass(frozen=True)
class ImageAnalysis:
    """A bundle's calibrated prediction for one image and, when asked for, its saliency map."""

    model: str
    prediction: Prediction
    threshold: float | None
    explanation: BundleExplanation | None


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
    return ImageAnalysis(classifier.name, prediction, classifier.decision.get("threshold"), explanation)


def saliency_layer(analysis: ImageAnalysis) -> OverlayLayer:
    """The saliency map of an analysis that has one, as a heat-map layer ``[k, j, i]`` over the one-slice image it
    explains, captioned with the method and the label it explains."""
    explanation = analysis.explanation
    values = explanation.saliency.values[np.newaxis].astype(np.float32)
    return saliency_overlay(values, f"{explanation.saliency.label}: {explanation.label}")
