"""Classification metrics and calibration: hand-computed cases, and scikit-learn as reference where installed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from medstation.engine.calibration import (
    apply_temperature,
    calibration_bins,
    expected_calibration_error,
    fit_temperature,
    negative_log_likelihood,
)
from medstation.engine.metrics import (
    accuracy,
    binary_metrics,
    bootstrap_ci,
    confidence_intervals,
    confusion_matrix,
    f1_score,
    fit_threshold,
    precision,
    recall,
    roc_auc,
    roc_curve,
    specificity,
    subgroup_metrics,
)

# Eight cases, hand-checked: at threshold 0.5 the predictions are 1 1 0 0 | 1 0 0 0 (positives first).
HAND_LABELS = np.array([1, 1, 1, 1, 0, 0, 0, 0])
HAND_SCORES = np.array([0.9, 0.8, 0.4, 0.3, 0.7, 0.2, 0.1, 0.3])


def test_hand_computed_binary_metrics():
    predicted = (HAND_SCORES >= 0.5).astype(int)
    assert confusion_matrix(HAND_LABELS, predicted).tolist() == [[3, 1], [2, 2]]
    assert accuracy(HAND_LABELS, predicted) == 5 / 8
    assert precision(HAND_LABELS, predicted) == 2 / 3
    assert recall(HAND_LABELS, predicted) == 2 / 4
    assert specificity(HAND_LABELS, predicted) == 3 / 4
    assert f1_score(HAND_LABELS, predicted) == pytest.approx(2 * (2 / 3) * (1 / 2) / (2 / 3 + 1 / 2))
    # Positive-over-negative pairs: 0.9 and 0.8 beat all 4; 0.4 beats 3; 0.3 beats 2 and ties one (half).
    assert roc_auc(HAND_LABELS, HAND_SCORES) == (4 + 4 + 3 + 2.5) / 16


def test_undefined_metrics_are_nan_and_none_in_the_summary():
    labels = np.array([0, 0, 0])
    assert math.isnan(roc_auc(labels, [0.1, 0.2, 0.3]))
    assert math.isnan(precision(labels, [0, 0, 0]))
    summary = binary_metrics(labels, [0.1, 0.2, 0.3])
    assert summary["auc"] is None and summary["recall"] is None and summary["precision"] is None
    assert summary["specificity"] == 1.0 and summary["confusion_matrix"] == [[3, 0], [0, 0]]


def test_hand_computed_expected_calibration_error():
    labels = np.array([1, 0, 1, 1, 0])
    scores = np.array([0.95, 0.15, 0.65, 0.45, 0.55])
    # Top-label confidences 0.95 0.85 0.65 0.55 0.55, right: yes yes yes no no. With 5 bins of width 0.2:
    # (0.8, 1.0]: conf 0.90, acc 1 -> 2/5 * 0.1;  (0.6, 0.8]: conf 0.65, acc 1 -> 1/5 * 0.35;
    # (0.4, 0.6]: conf 0.55, acc 0 -> 2/5 * 0.55.
    expected = 2 / 5 * 0.1 + 1 / 5 * 0.35 + 2 / 5 * 0.55
    assert expected_calibration_error(labels, scores, n_bins=5) == pytest.approx(expected)
    bins = calibration_bins(labels, scores, n_bins=5)
    assert bins.counts.tolist() == [0, 0, 2, 1, 2]
    assert np.allclose(bins.edges, [0, 0.2, 0.4, 0.6, 0.8, 1.0])
    two_column = np.stack([1 - scores, scores], axis=1)
    assert expected_calibration_error(labels, two_column, n_bins=5) == pytest.approx(expected)


def test_perfectly_calibrated_bins_have_no_error():
    labels = np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 0])
    assert expected_calibration_error(labels, np.full(10, 0.3)) == pytest.approx(0.0)


def test_threshold_methods_on_hand_case():
    # Youden's J is 1/2 at three cuts: >= 0.8 (2/4 - 0), >= 0.4 (3/4 - 1/4) and >= 0.3 (4/4 - 2/4). The tie goes
    # to the cut calling fewest positive, placed midway between 0.8 and the next lower score 0.7.
    assert fit_threshold(HAND_LABELS, HAND_SCORES, "youden") == pytest.approx(0.75)
    # Accuracy: 6 of 8 right is the best any cut does here.
    threshold = fit_threshold(HAND_LABELS, HAND_SCORES, "accuracy")
    assert accuracy(HAND_LABELS, (threshold <= HAND_SCORES).astype(int)) == 6 / 8
    assert fit_threshold([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == pytest.approx(0.5)
    assert fit_threshold([0, 0, 0, 1], [0.4, 0.3, 0.2, 0.1], "accuracy") > 0.4


def test_temperature_recovers_the_temperature_that_made_the_labels():
    generator = np.random.default_rng(7)
    true_logits = generator.normal(0.0, 2.0, 4000)
    labels = (generator.random(4000) < 1.0 / (1.0 + np.exp(-true_logits))).astype(int)
    overconfident = true_logits * 2.5
    temperature = fit_temperature(overconfident, labels)
    assert temperature == pytest.approx(2.5, rel=0.1)
    grid = np.linspace(0.5, 6.0, 200)
    best_on_grid = grid[np.argmin([negative_log_likelihood(overconfident, labels, t) for t in grid])]
    assert temperature == pytest.approx(best_on_grid, abs=0.03)
    assert expected_calibration_error(labels, apply_temperature(overconfident, temperature)) < 0.5 * (
        expected_calibration_error(labels, apply_temperature(overconfident, 1.0))
    )


def test_multiclass_temperature_and_softmax():
    generator = np.random.default_rng(3)
    true_logits = generator.normal(0.0, 1.5, (3000, 3))
    probabilities = apply_temperature(true_logits, 1.0)
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    labels = np.array([generator.choice(3, p=row) for row in probabilities])
    assert fit_temperature(true_logits * 0.5, labels) == pytest.approx(0.5, rel=0.1)


def test_subgroups_report_each_group_and_the_largest_gap():
    labels = np.r_[HAND_LABELS, 1, 0, 1, 0]
    scores = np.r_[HAND_SCORES, 0.9, 0.1, 0.8, 0.2]
    groups = ["a"] * 8 + ["b"] * 4
    report = subgroup_metrics(labels, scores, groups)
    assert report["groups"]["a"] == binary_metrics(HAND_LABELS, HAND_SCORES)
    assert report["groups"]["b"]["accuracy"] == 1.0 and report["groups"]["b"]["n"] == 4
    gap = report["largest_gap"]["accuracy"]
    assert gap == {"gap": pytest.approx(1.0 - 5 / 8), "highest": "b", "lowest": "a"}
    assert report["largest_gap"]["auc"]["lowest"] == "a"


def test_subgroup_with_one_class_has_no_auc_and_no_auc_gap():
    report = subgroup_metrics([1, 0, 1, 1], [0.9, 0.2, 0.7, 0.6], ["x", "x", "y", "y"])
    assert report["groups"]["y"]["auc"] is None
    assert "auc" not in report["largest_gap"]


def test_bootstrap_is_seeded_and_brackets_the_estimate():
    generator = np.random.default_rng(11)
    labels = generator.integers(0, 2, 300)
    scores = np.clip(labels * 0.3 + generator.normal(0.35, 0.2, 300), 0, 1)
    first = confidence_intervals(labels, scores, threshold=0.5, n_resamples=300, seed=5)
    assert first == confidence_intervals(labels, scores, threshold=0.5, n_resamples=300, seed=5)
    assert first != confidence_intervals(labels, scores, threshold=0.5, n_resamples=300, seed=6)
    low, high = first["auc"]
    assert low < roc_auc(labels, scores) < high and high - low < 0.2
    low, high = first["accuracy"]
    assert low < accuracy(labels, (scores >= 0.5).astype(int)) < high


def test_bootstrap_of_a_constant_metric_is_a_point():
    assert bootstrap_ci(lambda labels, scores: 1.0, [0, 1], [0.2, 0.8], n_resamples=20) == (1.0, 1.0)


@pytest.fixture(scope="module")
def sklearn_metrics():
    return pytest.importorskip("sklearn.metrics", reason="scikit-learn is the reference for these checks")


@pytest.fixture(scope="module")
def noisy_case():
    generator = np.random.default_rng(2024)
    labels = generator.integers(0, 2, 500)
    scores = np.round(np.clip(labels * 0.25 + generator.normal(0.4, 0.2, 500), 0, 1), 2)
    return labels, scores


def test_against_sklearn(sklearn_metrics, noisy_case):
    labels, scores = noisy_case
    predicted = (scores >= 0.5).astype(int)
    assert confusion_matrix(labels, predicted).tolist() == sklearn_metrics.confusion_matrix(labels, predicted).tolist()
    assert accuracy(labels, predicted) == pytest.approx(sklearn_metrics.accuracy_score(labels, predicted))
    assert precision(labels, predicted) == pytest.approx(sklearn_metrics.precision_score(labels, predicted))
    assert recall(labels, predicted) == pytest.approx(sklearn_metrics.recall_score(labels, predicted))
    assert f1_score(labels, predicted) == pytest.approx(sklearn_metrics.f1_score(labels, predicted))
    assert specificity(labels, predicted) == pytest.approx(sklearn_metrics.recall_score(labels, predicted, pos_label=0))
    assert roc_auc(labels, scores) == pytest.approx(sklearn_metrics.roc_auc_score(labels, scores))
    fpr, tpr, thresholds = roc_curve(labels, scores)
    expected = sklearn_metrics.roc_curve(labels, scores, drop_intermediate=False)
    for mine, theirs in zip((fpr, tpr, thresholds), expected, strict=True):
        assert np.allclose(mine, theirs)


def test_multiclass_confusion_and_nll_against_sklearn(sklearn_metrics):
    generator = np.random.default_rng(9)
    logits = generator.normal(0.0, 2.0, (200, 4))
    labels = generator.integers(0, 4, 200)
    predicted = logits.argmax(axis=1)
    assert confusion_matrix(labels, predicted).tolist() == sklearn_metrics.confusion_matrix(labels, predicted).tolist()
    for temperature in (0.5, 1.0, 3.0):
        reference = sklearn_metrics.log_loss(labels, apply_temperature(logits, temperature), labels=[0, 1, 2, 3])
        assert negative_log_likelihood(logits, labels, temperature) == pytest.approx(reference)
    binary_logits = logits[:, 0]
    binary_labels = labels % 2
    reference = sklearn_metrics.log_loss(binary_labels, apply_temperature(binary_logits, 2.0))
    assert negative_log_likelihood(binary_logits, binary_labels, 2.0) == pytest.approx(reference)


def test_youden_threshold_matches_sklearn_roc(sklearn_metrics, noisy_case):
    labels, scores = noisy_case
    fpr, tpr, thresholds = sklearn_metrics.roc_curve(labels, scores, drop_intermediate=False)
    reference = thresholds[int(np.argmax(tpr - fpr))]
    mine = fit_threshold(labels, scores, "youden")
    assert np.array_equal(scores >= mine, scores >= reference)
    assert reference > mine > scores[scores < reference].max()


def test_bootstrap_matches_a_loop_over_sklearn(sklearn_metrics, noisy_case):
    labels, scores = noisy_case
    generator = np.random.default_rng(1)
    estimates = []
    for _ in range(200):
        picked = generator.integers(0, labels.size, labels.size)
        estimates.append(sklearn_metrics.roc_auc_score(labels[picked], scores[picked]))
    expected = tuple(np.percentile(estimates, [2.5, 97.5]))
    assert bootstrap_ci(roc_auc, labels, scores, n_resamples=200, seed=1) == pytest.approx(expected)
