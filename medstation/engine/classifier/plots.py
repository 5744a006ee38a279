"""ROC curve and reliability diagram of a binary classifier, saved as PNG with matplotlib's Agg renderer
(no display, no Qt)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from medstation.engine.calibration import calibration_bins
from medstation.engine.metrics import roc_auc, roc_curve

FIGURE_INCHES = (4.5, 4.5)
DPI = 120


def _figure():
    from matplotlib.figure import Figure

    return Figure(figsize=FIGURE_INCHES, dpi=DPI, layout="tight")


def save_roc_plot(labels: np.ndarray, scores: np.ndarray, threshold: float, path: Path, title: str) -> Path:
    """ROC curve (false against true positive rate) with the operating point at ``threshold`` marked."""
    fpr, tpr, _ = roc_curve(labels, scores)
    called = scores >= threshold
    positives, negatives = max(int(labels.sum()), 1), max(int((1 - labels).sum()), 1)
    point = (np.count_nonzero(called & (labels == 0)) / negatives, np.count_nonzero(called & (labels == 1)) / positives)
    figure = _figure()
    axes = figure.add_subplot()
    axes.plot(fpr, tpr, color="tab:blue", label=f"AUC {roc_auc(labels, scores):.3f}")
    axes.plot([0, 1], [0, 1], color="grey", linestyle=":", label="chance")
    axes.plot(*point, "o", color="tab:red", label=f"threshold {threshold:.3f}")
    axes.set(xlabel="false positive rate (1 - specificity)", ylabel="true positive rate (sensitivity)",
             xlim=(0, 1), ylim=(0, 1.01), title=title)
    axes.legend(loc="lower right")
    figure.savefig(path)
    return path


def save_reliability_plot(labels: np.ndarray, probabilities: np.ndarray, path: Path, title: str) -> Path:
    """Reliability diagram: accuracy against mean confidence per confidence bin, bar width the bin, with the
    diagonal of perfect calibration."""
    bins = calibration_bins(labels, probabilities)
    filled = bins.counts > 0
    figure = _figure()
    axes = figure.add_subplot()
    width = np.diff(bins.edges)
    axes.bar(bins.edges[:-1][filled], bins.accuracy[filled], width=width[filled], align="edge",
             edgecolor="black", color="tab:blue", alpha=0.7, label="accuracy")
    axes.plot(bins.confidence[filled], bins.confidence[filled], "o", color="tab:red", markersize=3,
              label="mean confidence")
    axes.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfect calibration")
    axes.set(xlabel="confidence in the predicted label", ylabel="accuracy", xlim=(0, 1), ylim=(0, 1.01),
             title=title)
    axes.legend(loc="upper left")
    figure.savefig(path)
    return path
