"""The decision of a classifier: two labels, a combination of labels, the most probable label."""

import numpy as np
import pytest

from medstation.engine.classifier.decision import (
    combined_probabilities,
    decide,
    fit_decision,
    parse_combination,
    positive_scores,
    within_scores,
)
from medstation.engine.classifier.evaluation import metadata_metrics, summarise
from medstation.errors import ModelError

LABELS = ("bacteria", "normal", "virus")


def _probabilities(rows):
    return np.array(rows, dtype=float)


def test_a_combination_is_parsed_and_checked_against_the_labels():
    assert parse_combination("pneumonia=bacteria, virus", LABELS) == ("pneumonia", ("bacteria", "virus"))
    assert parse_combination("", LABELS) is None
    refused = [("pneumonia=bacteria", "at least two labels"), ("p=bacteria,fungus", "fungus not among"),
               ("p=bacteria,normal,virus", "takes every label"), ("normal=bacteria,virus", "already a label")]
    for text, message in refused:
        with pytest.raises(ModelError, match=message):
            parse_combination(text, LABELS)


def test_the_union_is_called_on_its_summed_probability_then_its_most_probable_member():
    decision = {"positive_label": "pneumonia", "members": ["bacteria", "virus"], "threshold": 0.5}
    probabilities = _probabilities([[0.3, 0.4, 0.3],   # union 0.6: called, bacteria and virus tie -> first
                                    [0.1, 0.6, 0.3],   # union 0.4: normal, although virus is not the least
                                    [0.2, 0.3, 0.5],
                                    [0.45, 0.55, 0.0]])  # most probable label is normal, but the union is 0.45
    assert decide(probabilities, LABELS, decision) == ["bacteria", "normal", "virus", "normal"]
    assert np.allclose(positive_scores(probabilities, LABELS, decision), [0.6, 0.4, 0.7, 0.45])
    assert np.allclose(combined_probabilities(probabilities, LABELS, decision)["pneumonia"], [0.6, 0.4, 0.7, 0.45])
    assert np.allclose(within_scores(probabilities, LABELS, decision), [0.5, 0.75, 0.5 / 0.7, 0.0])


def test_decisions_fitted_on_validation_separate_what_they_can():
    generator = np.random.default_rng(0)
    truth = np.repeat([0, 1, 2], 50)
    logits = generator.normal(size=(150, 3)) + 3.0 * np.eye(3)[truth]
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    decision = fit_decision(truth, probabilities, LABELS, ("pneumonia", ("bacteria", "virus")))
    assert decision["members"] == ["bacteria", "virus"] and decision["fitted_on"] == "val"
    assert decision["within"]["positive_label"] == "virus" and 0 < decision["within"]["threshold"] < 1
    summary = summarise(truth, probabilities, LABELS, decision)
    assert summary["metrics"]["auc"] > 0.9 and set(summary["tasks"]) == {"bacteria vs virus", "multiclass"}
    assert summary["tasks"]["multiclass"]["metrics"]["confusion_matrix"][1][1] > 35
    stored = metadata_metrics(summary)
    assert {"auc", "bacteria_vs_virus_auc", "bacteria_vs_virus_auc_ci95", "multiclass_accuracy"} <= set(stored)
    assert fit_decision(truth, probabilities, LABELS, None) == {}
    binary = fit_decision(truth[:100], probabilities[:100, :2] / probabilities[:100, :2].sum(1, keepdims=True),
                          ("a", "b"), None)
    assert binary["positive_label"] == "b" and 0 < binary["threshold"] < 1


def test_without_a_decision_the_most_probable_label_is_called():
    assert decide(_probabilities([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]]), LABELS, {}) == ["normal", "bacteria"]
    assert decide(_probabilities([[0.7, 0.3]]), ("a", "b"), {"positive_label": "b", "threshold": 0.25}) == ["b"]


def test_a_judge_reads_a_combination_as_one_label():
    from medstation.engine.classifier.decision import called_as, judged_labels, label_probability

    decision = {"positive_label": "pneumonia", "members": ["bacteria", "virus"], "threshold": 0.5}
    probabilities = _probabilities([[0.5, 0.2, 0.3], [0.1, 0.8, 0.1]])
    assert judged_labels(LABELS, decision) == (*LABELS, "pneumonia") and judged_labels(LABELS, {}) == LABELS
    assert np.allclose(label_probability(probabilities, LABELS, decision, ["pneumonia", "virus"]), [0.8, 0.1])
    called = decide(probabilities, LABELS, decision)
    assert called_as(called, decision, ["pneumonia", "normal"]) == ["pneumonia", "normal"]
    assert called_as(called, decision, ["bacteria", "pneumonia"]) == ["bacteria", "normal"]
