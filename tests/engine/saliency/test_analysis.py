"""What the AI panel lists for an analysis: a combination's union with its members under it, the call in words."""

from __future__ import annotations

import pytest

from medstation.engine.classifier import Prediction
from medstation.engine.saliency.analysis import ImageAnalysis, ProbabilityRow

COMBINED = {"positive_label": "pneumonia", "members": ["bacteria", "virus"], "threshold": 0.43}


def _analysis(probabilities: dict[str, float], label: str, decision: dict) -> ImageAnalysis:
    return ImageAnalysis("m", Prediction(probabilities, label), decision.get("threshold"), None, decision)


def test_a_combination_lists_the_union_then_its_members_then_the_other_labels():
    analysis = _analysis({"bacteria": 0.6, "normal": 0.1, "virus": 0.3}, "bacteria", COMBINED)
    rows = analysis.probability_rows()
    assert [(row.label, row.depth) for row in rows] == [("pneumonia", 0), ("bacteria", 1), ("virus", 1),
                                                        ("normal", 0)]
    assert rows[0].probability == pytest.approx(0.9) and rows[0].members == ("bacteria", "virus")
    assert [row.probability for row in rows[1:]] == [0.6, 0.3, 0.1]
    assert analysis.call_text() == (
        "pneumonia, most likely bacteria (threshold 0.430 on pneumonia, fitted on validation)")


def test_an_image_below_the_threshold_is_called_its_other_label():
    analysis = _analysis({"bacteria": 0.2, "normal": 0.7, "virus": 0.1}, "normal", COMBINED)
    assert analysis.call_text() == "normal (threshold 0.430 on pneumonia, fitted on validation)"


def test_without_a_combination_the_labels_are_listed_as_the_bundle_orders_them():
    analysis = _analysis({"normal": 0.25, "pneumonia": 0.75}, "pneumonia",
                         {"positive_label": "pneumonia", "threshold": 0.5})
    assert analysis.probability_rows() == [ProbabilityRow("normal", 0.25), ProbabilityRow("pneumonia", 0.75)]
    assert analysis.call_text() == "pneumonia (threshold 0.500, fitted on validation)"
    assert _analysis({"a": 0.2, "b": 0.5, "c": 0.3}, "b", {}).call_text() == "b"
