"""Calibration of classifier probabilities: reliability bins, expected calibration error, temperature scaling.

Pure numpy. ``probabilities`` is either the positive-class probability of a binary classifier, shape ``(n,)``,
or one row of class probabilities per case, shape ``(n, classes)``; ``logits`` likewise a single binary logit
per case or one row of class logits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

DEFAULT_BINS = 15
TEMPERATURE_BOUNDS = (0.05, 20.0)
_GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0


def _top_label(y_true: ArrayLike, probabilities: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Confidence in the predicted class and whether that prediction is right, per case."""
    labels = np.asarray(y_true).astype(int)
    probabilities = np.asarray(probabilities, dtype=float)
    if probabilities.ndim == 1:
        predicted = (probabilities >= 0.5).astype(int)
        confidence = np.where(predicted == 1, probabilities, 1.0 - probabilities)
    else:
        predicted = probabilities.argmax(axis=1)
        confidence = probabilities.max(axis=1)
    if labels.shape != predicted.shape:
        raise ValueError(f"{labels.shape[0]} labels for {predicted.shape[0]} predictions")
    return confidence, predicted == labels


@dataclass(frozen=True)
class CalibrationBins:
    """A reliability diagram: per confidence bin, its case count, mean confidence and accuracy (NaN if empty)."""

    edges: np.ndarray
    counts: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray


def calibration_bins(y_true: ArrayLike, probabilities: ArrayLike, n_bins: int = DEFAULT_BINS) -> CalibrationBins:
    """Top-label reliability bins: ``n_bins`` equal-width bins of [0, 1], bin ``b`` holding ``(b/n, (b+1)/n]``.

    A case's confidence is the probability of the class it is predicted as (for a binary ``(n,)`` input, ``p`` when
    ``p >= 0.5`` else ``1 - p``), as in Guo et al., "On Calibration of Modern Neural Networks" (ICML 2017).
    A confidence of exactly 0 falls in the first bin.
    """
    confidence, correct = _top_label(y_true, probabilities)
    index = np.clip(np.ceil(confidence * n_bins).astype(int) - 1, 0, n_bins - 1)
    counts = np.bincount(index, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_confidence = np.bincount(index, weights=confidence, minlength=n_bins) / counts
        accuracy = np.bincount(index, weights=correct.astype(float), minlength=n_bins) / counts
    return CalibrationBins(np.linspace(0.0, 1.0, n_bins + 1), counts, mean_confidence, accuracy)


def expected_calibration_error(y_true: ArrayLike, probabilities: ArrayLike, n_bins: int = DEFAULT_BINS) -> float:
    """ECE = sum over bins of (cases in bin / all cases) * |accuracy - mean confidence|, bins of
    :func:`calibration_bins`."""
    bins = calibration_bins(y_true, probabilities, n_bins)
    filled = bins.counts > 0
    weights = bins.counts[filled] / bins.counts.sum()
    return float(np.sum(weights * np.abs(bins.accuracy[filled] - bins.confidence[filled])))


def apply_temperature(logits: ArrayLike, temperature: float) -> np.ndarray:
    """Probabilities from logits divided by ``temperature``: a sigmoid for ``(n,)``, a softmax for ``(n, classes)``."""
    scaled = np.asarray(logits, dtype=float) / temperature
    if scaled.ndim == 1:
        return 1.0 / (1.0 + np.exp(-scaled))
    shifted = scaled - scaled.max(axis=1, keepdims=True)
    exponentials = np.exp(shifted)
    return exponentials / exponentials.sum(axis=1, keepdims=True)


def negative_log_likelihood(logits: ArrayLike, y_true: ArrayLike, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of the labels under the temperature-scaled logits (natural log)."""
    scaled = np.asarray(logits, dtype=float) / temperature
    labels = np.asarray(y_true).astype(int)
    if scaled.ndim == 1:
        return float(np.mean(np.logaddexp(0.0, scaled) - labels * scaled))
    top = scaled.max(axis=1)
    log_normaliser = top + np.log(np.exp(scaled - top[:, None]).sum(axis=1))
    return float(np.mean(log_normaliser - scaled[np.arange(len(labels)), labels]))


def fit_temperature(
    logits: ArrayLike, y_true: ArrayLike, bounds: tuple[float, float] = TEMPERATURE_BOUNDS, tolerance: float = 1e-5
) -> float:
    """The temperature in ``bounds`` that minimises :func:`negative_log_likelihood` on validation data.

    The NLL is convex in 1/T, hence unimodal in log T, so a golden-section search over log T finds its minimum.
    """
    low, high = math.log(bounds[0]), math.log(bounds[1])

    def loss(log_temperature: float) -> float:
        return negative_log_likelihood(logits, y_true, math.exp(log_temperature))

    inner_low, inner_high = high - _GOLDEN * (high - low), low + _GOLDEN * (high - low)
    loss_low, loss_high = loss(inner_low), loss(inner_high)
    while high - low > tolerance:
        if loss_low <= loss_high:
            high, inner_high, loss_high = inner_high, inner_low, loss_low
            inner_low = high - _GOLDEN * (high - low)
            loss_low = loss(inner_low)
        else:
            low, inner_low, loss_low = inner_low, inner_high, loss_high
            inner_high = low + _GOLDEN * (high - low)
            loss_high = loss(inner_high)
    return math.exp((low + high) / 2.0)
