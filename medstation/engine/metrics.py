"""Classification metrics, pure numpy: confusion matrix, accuracy, ROC, precision/recall/F1/specificity,
bootstrap confidence intervals, per-subgroup metrics, the decision threshold fitted on validation data, and average
precision (AUPRC).

Binary conventions: labels are 0 (negative) and 1 (positive); ``scores`` are positive-class probabilities (or any
score that grows with the positive class); a case is predicted positive when ``score >= threshold``. A metric
that is undefined on the data (AUC with one class present, precision with no positive prediction, ...) is NaN
from the functions here and None in the dictionaries meant for JSON.
Calibration (ECE, temperature scaling) lives in :mod:`medstation.engine.calibration`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from medstation.engine.calibration import DEFAULT_BINS, expected_calibration_error

SUMMARY_METRICS = ("auc", "accuracy", "precision", "recall", "f1", "specificity", "ece")


def _binary_labels(y_true: ArrayLike) -> np.ndarray:
    labels = np.asarray(y_true).astype(int).ravel()
    if not np.isin(labels, (0, 1)).all():
        raise ValueError("binary metrics need labels 0 (negative) and 1 (positive)")
    return labels


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator else math.nan


def _defined(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, n_classes: int | None = None) -> np.ndarray:
    """Counts with rows the true class and columns the predicted class (``[[tn, fp], [fn, tp]]`` for binary)."""
    truth = np.asarray(y_true).astype(int).ravel()
    predicted = np.asarray(y_pred).astype(int).ravel()
    if truth.shape != predicted.shape:
        raise ValueError(f"{truth.size} labels for {predicted.size} predictions")
    size = n_classes if n_classes is not None else int(max(truth.max(initial=0), predicted.max(initial=0))) + 1
    return np.bincount(size * truth + predicted, minlength=size * size).reshape(size, size)


def accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Fraction of cases predicted as their true class."""
    truth, predicted = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    return _ratio(np.count_nonzero(truth == predicted), truth.size)


def _binary_counts(y_true: ArrayLike, y_pred: ArrayLike) -> tuple[int, int, int, int]:
    (tn, fp), (fn, tp) = confusion_matrix(_binary_labels(y_true), _binary_labels(y_pred), n_classes=2)
    return int(tn), int(fp), int(fn), int(tp)


def precision(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """TP / (TP + FP): positive predictive value."""
    _, fp, _, tp = _binary_counts(y_true, y_pred)
    return _ratio(tp, tp + fp)


def recall(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """TP / (TP + FN): sensitivity."""
    _, _, fn, tp = _binary_counts(y_true, y_pred)
    return _ratio(tp, tp + fn)


def specificity(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """TN / (TN + FP): true negative rate."""
    tn, fp, _, _ = _binary_counts(y_true, y_pred)
    return _ratio(tn, tn + fp)


def f1_score(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """2 TP / (2 TP + FP + FN): harmonic mean of precision and recall."""
    _, fp, fn, tp = _binary_counts(y_true, y_pred)
    return _ratio(2 * tp, 2 * tp + fp + fn)


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, tied values sharing the mean of their ranks."""
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    starts_group = np.r_[True, ordered[1:] != ordered[:-1]]
    group = np.cumsum(starts_group) - 1
    starts = np.flatnonzero(starts_group)
    ends = np.r_[starts[1:], values.size]
    ranks = np.empty(values.size)
    ranks[order] = ((starts + ends - 1) / 2.0 + 1.0)[group]
    return ranks


def roc_auc(y_true: ArrayLike, scores: ArrayLike) -> float:
    """Area under the ROC curve: the chance a random positive scores above a random negative, ties counting half."""
    labels = _binary_labels(y_true)
    values = np.asarray(scores, dtype=float).ravel()
    positives = int(labels.sum())
    negatives = labels.size - positives
    if positives == 0 or negatives == 0:
        return math.nan
    rank_sum = _average_ranks(values)[labels == 1].sum()
    return float((rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives))


def _operating_points(labels: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct scores, highest first, with the true and false positives when every case scoring at least that
    high is called positive."""
    order = np.argsort(-values, kind="mergesort")
    ordered, hits = values[order], labels[order]
    last_of_group = np.r_[np.flatnonzero(ordered[1:] != ordered[:-1]), values.size - 1]
    true_positives = np.cumsum(hits)[last_of_group]
    return ordered[last_of_group], true_positives, last_of_group + 1 - true_positives


def roc_curve(y_true: ArrayLike, scores: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False and true positive rates at every distinct score used as threshold, starting from (0, 0) at +inf."""
    labels = _binary_labels(y_true)
    thresholds, true_positives, false_positives = _operating_points(labels, np.asarray(scores, dtype=float).ravel())
    positives, negatives = int(labels.sum()), labels.size - int(labels.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        tpr = np.r_[0.0, true_positives / positives]
        fpr = np.r_[0.0, false_positives / negatives]
    return fpr, tpr, np.r_[np.inf, thresholds]


def fit_threshold(y_true: ArrayLike, scores: ArrayLike, method: Literal["youden", "accuracy"] = "youden") -> float:
    """The decision threshold that is best on this (validation) data.

    ``youden`` maximises Youden's J = sensitivity + specificity - 1; ``accuracy`` maximises accuracy. Every split
    of the distinct scores is a candidate; the returned threshold lies midway between the lowest score called
    positive and the highest called negative. Ties go to the candidate calling fewest cases positive.
    """
    labels = _binary_labels(y_true)
    if method not in ("youden", "accuracy"):
        raise ValueError(f"unknown threshold method {method!r}; use 'youden' or 'accuracy'")
    distinct, true_positives, false_positives = _operating_points(labels, np.asarray(scores, dtype=float).ravel())
    true_positives, false_positives = np.r_[0, true_positives], np.r_[0, false_positives]
    positives, negatives = int(labels.sum()), labels.size - int(labels.sum())
    if method == "youden":
        if positives == 0 or negatives == 0:
            raise ValueError("Youden's J needs both classes in the validation data")
        objective = true_positives / positives - false_positives / negatives
    else:
        objective = (true_positives + negatives - false_positives) / labels.size
    best = int(np.argmax(objective))
    if best == 0:
        return float(np.nextafter(distinct[0], np.inf))
    if best == distinct.size:
        return float(distinct[-1])
    above, below = distinct[best - 1], distinct[best]
    middle = (above + below) / 2.0
    return float(middle if middle > below else above)


def binary_metrics(
    y_true: ArrayLike, scores: ArrayLike, threshold: float = 0.5, n_bins: int = DEFAULT_BINS
) -> dict[str, Any]:
    """The summary of docs/design.md §3 (``auc``, ``accuracy``, ``precision``, ``recall``, ``f1``, ``specificity``,
    ``ece``) plus ``confusion_matrix`` ``[[tn, fp], [fn, tp]]``, ``n``, ``positives`` and ``threshold``.

    ``scores`` must be positive-class probabilities for the ECE to mean anything.
    """
    labels = _binary_labels(y_true)
    values = np.asarray(scores, dtype=float).ravel()
    predicted = (values >= threshold).astype(int)
    return {
        "auc": _defined(roc_auc(labels, values)),
        "accuracy": _defined(accuracy(labels, predicted)),
        "precision": _defined(precision(labels, predicted)),
        "recall": _defined(recall(labels, predicted)),
        "f1": _defined(f1_score(labels, predicted)),
        "specificity": _defined(specificity(labels, predicted)),
        "ece": _defined(expected_calibration_error(labels, values, n_bins)),
        "confusion_matrix": confusion_matrix(labels, predicted, n_classes=2).tolist(),
        "n": int(labels.size),
        "positives": int(labels.sum()),
        "threshold": float(threshold),
    }


def bootstrap_ci(
    metric: Callable[[np.ndarray, np.ndarray], float],
    y_true: ArrayLike,
    scores: ArrayLike,
    n_resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``metric(y_true, scores)``.

    Resample ``r`` draws ``n`` case indices with replacement, ``numpy.random.default_rng(seed).integers(0, n, n)``
    called once per resample in order; resamples where the metric is undefined (NaN) are left out.
    """
    labels = np.asarray(y_true).ravel()
    values = np.asarray(scores).ravel()
    generator = np.random.default_rng(seed)
    estimates = []
    for _ in range(n_resamples):
        picked = generator.integers(0, labels.size, labels.size)
        estimates.append(metric(labels[picked], values[picked]))
    finite = np.asarray(estimates, dtype=float)
    finite = finite[~np.isnan(finite)]
    if finite.size == 0:
        return math.nan, math.nan
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(finite, [tail, 100.0 - tail])
    return float(low), float(high)


def confidence_intervals(
    y_true: ArrayLike, scores: ArrayLike, threshold: float = 0.5, n_resamples: int = 1000, seed: int = 0
) -> dict[str, list[float | None]]:
    """95% percentile bootstrap intervals of AUC and accuracy at ``threshold``, as ``{"auc": [low, high], ...}``."""

    def accuracy_at_threshold(labels: np.ndarray, values: np.ndarray) -> float:
        return accuracy(labels, (values >= threshold).astype(int))

    intervals = {
        "auc": bootstrap_ci(roc_auc, y_true, scores, n_resamples, seed=seed),
        "accuracy": bootstrap_ci(accuracy_at_threshold, y_true, scores, n_resamples, seed=seed),
    }
    return {name: [_defined(low), _defined(high)] for name, (low, high) in intervals.items()}


def subgroup_metrics(
    y_true: ArrayLike, scores: ArrayLike, groups: ArrayLike, threshold: float = 0.5, n_bins: int = DEFAULT_BINS
) -> dict[str, Any]:
    """:func:`binary_metrics` per subgroup, and per metric the largest gap between two subgroups.

    Returns ``{"groups": {GROUP: metrics}, "largest_gap": {METRIC: {"gap", "highest", "lowest"}}}``; a metric
    undefined in a subgroup takes no part in its gap, and one defined in fewer than two subgroups has no gap.
    """
    labels = _binary_labels(y_true)
    values = np.asarray(scores, dtype=float).ravel()
    names = np.asarray(groups).astype(str).ravel()
    if names.size != labels.size:
        raise ValueError(f"{names.size} subgroup values for {labels.size} cases")
    per_group = {
        name: binary_metrics(labels[names == name], values[names == name], threshold, n_bins)
        for name in sorted(set(names.tolist()))
    }
    gaps = {}
    for metric in SUMMARY_METRICS:
        defined = {name: result[metric] for name, result in per_group.items() if result[metric] is not None}
        if len(defined) >= 2:
            highest = max(defined, key=defined.__getitem__)
            lowest = min(defined, key=defined.__getitem__)
            gaps[metric] = {"gap": defined[highest] - defined[lowest], "highest": highest, "lowest": lowest}
    return {"groups": per_group, "largest_gap": gaps}


def average_precision(y_true: ArrayLike, scores: ArrayLike) -> float:
    """Area under the precision-recall curve (AUPRC) as average precision: over the distinct scores used as
    thresholds, highest first, the sum of each step in recall times the precision there (scikit-learn's
    ``average_precision_score``, no interpolation). NaN without positives."""
    labels = _binary_labels(y_true)
    positives = int(labels.sum())
    if positives == 0:
        return math.nan
    _, true_positives, false_positives = _operating_points(labels, np.asarray(scores, dtype=float).ravel())
    precision_at = true_positives / (true_positives + false_positives)
    recall_at = true_positives / positives
    return float(np.sum(np.diff(np.r_[0.0, recall_at]) * precision_at))
