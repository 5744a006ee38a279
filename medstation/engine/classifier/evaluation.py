"""Metrics of a classifier's probabilities on labelled images, in the shapes the CLI, the bundle and the model card
use.

Two labels: the docs/design.md §3 summary (``auc``, ``accuracy``, ``precision``, ``recall``, ``f1``, ``specificity``,
``ece``) at the bundle's decision threshold, from :mod:`medstation.engine.metrics`. More labels: ``accuracy`` of the
most probable label, top-label ``ece`` and the macro one-vs-rest ``auc``; the per-class ratios are left out (None).
A combination of labels (``pneumonia=bacteria,virus``) is summarised as two labels (the union against the rest),
with the members told apart as a second task. Intervals are 95% percentile bootstraps (1000 resamples) of AUC
and accuracy.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from medstation.engine.calibration import expected_calibration_error
from medstation.engine.classifier.decision import positive_scores, positive_truth, within_scores
from medstation.engine.classifier.inputs import prepare_batch
from medstation.engine.classifier.occlusion import occlusion_check
from medstation.engine.classifier.plots import save_reliability_plot, save_roc_plot
from medstation.engine.metrics import (
    SUMMARY_METRICS,
    accuracy,
    binary_metrics,
    bootstrap_ci,
    confidence_intervals,
    confusion_matrix,
    roc_auc,
    subgroup_metrics,
)
from medstation.errors import ModelError, UnreadableInput

BOOTSTRAP_RESAMPLES = 1000


def _macro_auc(labels: np.ndarray, probabilities: np.ndarray) -> float:
    values = [roc_auc((labels == c).astype(int), probabilities[:, c]) for c in range(probabilities.shape[1])]
    defined = [value for value in values if not math.isnan(value)]
    return float(np.mean(defined)) if defined else math.nan


def _multiclass_summary(labels: np.ndarray, probabilities: np.ndarray, seed: int) -> dict[str, Any]:
    predicted = probabilities.argmax(axis=1)
    metrics: dict[str, Any] = dict.fromkeys(SUMMARY_METRICS)
    auc = _macro_auc(labels, probabilities)
    metrics.update(
        auc=None if math.isnan(auc) else auc,
        accuracy=accuracy(labels, predicted),
        ece=expected_calibration_error(labels, probabilities),
        confusion_matrix=confusion_matrix(labels, predicted, probabilities.shape[1]).tolist(),
        n=int(labels.size),
    )
    rows = np.arange(labels.size)

    def resampled(metric):
        low, high = bootstrap_ci(lambda y, r: metric(y, probabilities[r]), labels, rows, BOOTSTRAP_RESAMPLES, seed=seed)
        return [None if math.isnan(low) else low, None if math.isnan(high) else high]

    intervals = {
        "auc": resampled(_macro_auc),
        "accuracy": resampled(lambda y, p: accuracy(y, p.argmax(axis=1))),
    }
    return {"metrics": metrics, "intervals": intervals}


def _binary_summary(truth: np.ndarray, scores: np.ndarray, threshold: float, groups: np.ndarray | None,
                    seed: int) -> dict[str, Any]:
    summary = {
        "metrics": binary_metrics(truth, scores, threshold),
        "intervals": confidence_intervals(truth, scores, threshold, BOOTSTRAP_RESAMPLES, seed),
    }
    if groups is not None:
        summary["subgroups"] = subgroup_metrics(truth, scores, groups, threshold)
    return summary


def summarise(
    labels: np.ndarray,
    probabilities: np.ndarray,
    label_names: tuple[str, ...],
    decision: dict[str, Any],
    groups: np.ndarray | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """``{"metrics", "intervals"}``, ``"subgroups"`` when ``groups`` is given, ``"tasks"`` for a combination.

    Two labels, or a combination of labels (:mod:`medstation.engine.classifier.decision`): the binary summary at
    the decision's threshold (the union against the other labels). A combination of two members adds ``tasks``:
    the two members told apart among true members (``"bacteria vs virus"``, at the ``within`` threshold) and the
    ``multiclass`` summary of every label. Otherwise the multiclass summary.

    Parameters
    ----------
    labels
        True class indices ``(N,)`` in the model's label order.
    probabilities
        Calibrated class probabilities ``(N, classes)``.
    label_names, decision
        The model's labels and its ``decision`` metadata.
    groups
        Subgroup attribute per case, for per-subgroup metrics and their largest gaps (binary summaries only).
    seed
        Seed of the bootstrap resampling.
    """
    labels = np.asarray(labels).astype(int)
    if "threshold" not in decision:
        return _multiclass_summary(labels, probabilities, seed)
    truth = positive_truth(labels, label_names, decision)
    scores = positive_scores(probabilities, label_names, decision)
    summary = _binary_summary(truth, scores, float(decision["threshold"]), groups, seed)
    within = decision.get("within")
    if within is not None:
        inside = truth.astype(bool)
        second = label_names.index(within["positive_label"])
        task = f"{within['negative_label']} vs {within['positive_label']}"
        summary["tasks"] = {
            task: _binary_summary((labels[inside] == second).astype(int),
                                  within_scores(probabilities, label_names, decision)[inside],
                                  float(within["threshold"]), None, seed),
            "multiclass": _multiclass_summary(labels, probabilities, seed),
        }
    return summary


def metadata_metrics(summary: dict[str, Any]) -> dict[str, float | list[float]]:
    """The summary as the bundle schema stores it: defined numbers, and ``NAME_ci95`` ``[low, high]`` pairs."""
    values: dict[str, float | list[float]] = {
        name: float(summary["metrics"][name]) for name in SUMMARY_METRICS if summary["metrics"].get(name) is not None
    }
    for name, interval in summary["intervals"].items():
        if None not in interval:
            values[f"{name}_ci95"] = [float(interval[0]), float(interval[1])]
    for task, task_summary in summary.get("tasks", {}).items():
        prefix = task.replace(" ", "_")
        for name, value in metadata_metrics(task_summary).items():
            values[f"{prefix}_{name}"] = value
    return values


def majority_baseline(truth: np.ndarray, reference_truth: np.ndarray) -> dict:
    """Metrics of a model that gives every case the positive frequency of ``reference_truth`` (the training split,
    0/1) as its score: what a classifier must beat to have learnt anything from the images."""
    prevalence = float(np.mean(reference_truth))
    return binary_metrics(truth, np.full(np.asarray(truth).size, prevalence), 0.5)


def model_label_indices(
    data_names: tuple[str, ...], indices: np.ndarray, model_labels: tuple[str, ...], source: str
) -> np.ndarray:
    """Class indices of the data translated to the model's label order.

    Named classes (a labels CSV, or names given for an ``.npz``) are matched by name; unnamed ones (an ``.npz``
    whose classes are numbered) are taken to be in the model's order.
    """
    unnamed = data_names == tuple(str(index) for index in range(len(data_names)))
    if unnamed and len(data_names) == len(model_labels):
        return np.asarray(indices)
    unknown = sorted(set(data_names) - set(model_labels))
    if unknown:
        raise ModelError(
            f"{source}: classes {', '.join(unknown)} are not among the model's labels ({', '.join(model_labels)})"
        )
    order = np.array([model_labels.index(name) for name in data_names])
    return order[np.asarray(indices)]


def evaluate_classifier(
    classifier,
    data,
    split: str = "test",
    subgroup: str | None = None,
    plots_dir: Path | None = None,
    occlusion: bool = False,
    progress=None,
    cancel=None,
) -> dict[str, Any]:
    """Run ``classifier`` on one split of labelled images and measure it against the labels.

    Returns the docs/design.md §3 evaluation document: ``model``, ``data``, ``split``, ``n``, ``metrics``,
    ``confusion_matrix``, ``intervals``, ``threshold``, ``baselines``, ``subgroups`` (with a subgroup column) and
    ``plots`` (paths of the ROC and reliability PNGs, when ``plots_dir`` is given and there are two labels).
    A combination of labels adds ``positive`` (the union's name) and ``tasks``; ``occlusion`` adds the shortcut
    check of :mod:`medstation.engine.classifier.occlusion`.
    """
    chosen = data.split(split)
    true_labels = model_label_indices(data.label_names, chosen.labels, classifier.labels, str(data.source))
    groups = None
    if subgroup is not None:
        if subgroup not in chosen.groups:
            found = ", ".join(sorted(chosen.groups)) or "none"
            raise UnreadableInput(
                f"{data.source}: no subgroup column '{subgroup}' in the {split} split (found {found})"
            )
        groups = chosen.groups[subgroup]
    images = [
        classifier.image_input(image, f"{data.source} {split} image {index}")
        for index, image in enumerate(chosen.images)
    ]
    probabilities = classifier.probabilities(prepare_batch(images, classifier.input_spec), progress, cancel)
    decision = classifier.decision
    if not decision and len(classifier.labels) == 2:
        decision = {"positive_label": classifier.labels[1], "threshold": 0.5}
    binary = "threshold" in decision
    summary = summarise(true_labels, probabilities, classifier.labels, decision, groups if binary else None)
    metrics = dict(summary["metrics"])
    document: dict[str, Any] = {
        "model": classifier.name,
        "data": str(data.source),
        "split": split,
        "n": len(chosen),
        "labels": list(classifier.labels),
        "threshold": float(decision["threshold"]) if binary else None,
        "temperature": classifier.temperature,
        "metrics": {name: metrics.get(name) for name in SUMMARY_METRICS},
        "confusion_matrix": metrics["confusion_matrix"],
        "intervals": summary["intervals"],
        "baselines": {},
    }
    if binary:
        document["positive"] = decision["positive_label"]
    if "tasks" in summary:
        document["tasks"] = {
            name: {"metrics": {key: task["metrics"].get(key) for key in (*SUMMARY_METRICS, "confusion_matrix")},
                   "intervals": task["intervals"]}
            for name, task in summary["tasks"].items()
        }
    truth = positive_truth(true_labels, classifier.labels, decision) if binary else None
    if binary and "train" in data.splits:
        train_labels = model_label_indices(data.label_names, data.split("train").labels, classifier.labels, "")
        baseline = majority_baseline(truth, positive_truth(train_labels, classifier.labels, decision))
        document["baselines"]["majority_class"] = {name: baseline[name] for name in SUMMARY_METRICS}
    if "subgroups" in summary:
        document["subgroups"] = {"column": subgroup, **summary["subgroups"]}
    if occlusion and binary:
        document["occlusion"] = occlusion_check(classifier, chosen.images, truth, document["metrics"]["auc"],
                                                decision, progress, cancel)
    if plots_dir is not None and binary:
        plots_dir.mkdir(parents=True, exist_ok=True)
        scores = positive_scores(probabilities, classifier.labels, decision)
        title = f"{classifier.name}, {split} split (n={len(chosen)})"
        document["plots"] = {
            "roc": str(save_roc_plot(truth, scores, document["threshold"],
                                     plots_dir / f"{classifier.name}-{split}-roc.png", title)),
            "reliability": str(save_reliability_plot(truth, scores,
                                                     plots_dir / f"{classifier.name}-{split}-reliability.png", title)),
        }
    return document
