"""How a classifier's calibrated probabilities become a call: its ``decision`` metadata, fitted on validation.

Two labels: ``{"positive_label": L, "threshold": t, "method": "youden", "fitted_on": "val"}``; an image is called
``L`` when its probability of ``L`` is at least ``t``.

A combination (``--combine pneumonia=bacteria,virus``) reports a union of labels as one: the decision adds
``"members": [bacteria, virus]``, ``positive_label`` is the union's name and ``t`` applies to the members' summed
probability. An image at or above ``t`` is called its most probable member, else its most probable other label.
With exactly two members the decision also holds ``"within": {"negative_label", "positive_label", "threshold"}``:
the second member's share of the union's probability, thresholded, tells the two members apart among images of the
union (bacterial against viral pneumonia); the most probable member is still what :func:`decide` calls.

Otherwise (more labels, no combination) the most probable label is the call and the decision is empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from medstation.engine.metrics import fit_threshold
from medstation.errors import ModelError


def parse_combination(text: str, labels: Sequence[str]) -> tuple[str, tuple[str, ...]] | None:
    """``NAME=LABEL,LABEL`` as ``(NAME, members)``; None for an empty text; ModelError when it does not fit."""
    if not text:
        return None
    name, _, members_text = text.partition("=")
    members = tuple(part.strip() for part in members_text.split(",") if part.strip())
    name = name.strip()
    if not name or len(members) < 2:
        raise ModelError(f"--combine {text!r}: write NAME=LABEL,LABEL with at least two labels")
    unknown = [member for member in members if member not in labels]
    if unknown:
        raise ModelError(f"--combine {text!r}: {', '.join(unknown)} not among the labels ({', '.join(labels)})")
    if len(set(members)) == len(labels):
        raise ModelError(f"--combine {text!r}: the combination takes every label; leave at least one out")
    if name in labels:
        raise ModelError(f"--combine {text!r}: {name} is already a label; give the combination its own name")
    return name, members


def member_indices(labels: Sequence[str], decision: dict[str, Any]) -> np.ndarray:
    """Indices of the combination's members in the label order."""
    return np.array([list(labels).index(member) for member in decision["members"]])


def positive_scores(probabilities: np.ndarray, labels: Sequence[str], decision: dict[str, Any]) -> np.ndarray:
    """The probability the decision's threshold applies to: the positive label's, or the members' sum."""
    if "members" in decision:
        return probabilities[:, member_indices(labels, decision)].sum(axis=1)
    return probabilities[:, list(labels).index(decision["positive_label"])]


def positive_truth(true_labels: np.ndarray, labels: Sequence[str], decision: dict[str, Any]) -> np.ndarray:
    """1 where the true label is the positive label (or a member of the combination), else 0."""
    if "members" in decision:
        return np.isin(true_labels, member_indices(labels, decision)).astype(int)
    return (np.asarray(true_labels) == list(labels).index(decision["positive_label"])).astype(int)


def within_scores(probabilities: np.ndarray, labels: Sequence[str], decision: dict[str, Any]) -> np.ndarray:
    """The second member's share of the two members' probability (0.5 where both are zero)."""
    first, second = member_indices(labels, decision)
    total = probabilities[:, first] + probabilities[:, second]
    return np.divide(probabilities[:, second], total, out=np.full(total.shape, 0.5), where=total > 0)


def fit_decision(true_labels: np.ndarray, probabilities: np.ndarray, labels: Sequence[str],
                 combination: tuple[str, tuple[str, ...]] | None) -> dict[str, Any]:
    """The ``decision`` metadata fitted on validation labels and calibrated probabilities (Youden's J)."""
    fitted = {"method": "youden", "fitted_on": "val"}
    if combination is not None:
        name, members = combination
        decision: dict[str, Any] = {"positive_label": name, "members": list(members)}
        decision["threshold"] = fit_threshold(positive_truth(true_labels, labels, decision),
                                              positive_scores(probabilities, labels, decision), "youden")
        if len(members) == 2:
            inside = positive_truth(true_labels, labels, decision).astype(bool)
            second = list(labels).index(members[1])
            scores = within_scores(probabilities, labels, decision)[inside]
            decision["within"] = {
                "negative_label": members[0],
                "positive_label": members[1],
                "threshold": fit_threshold((np.asarray(true_labels)[inside] == second).astype(int), scores, "youden"),
            }
        return {**decision, **fitted}
    if len(labels) == 2:
        return {"positive_label": labels[1], "threshold": fit_threshold(true_labels, probabilities[:, 1], "youden"),
                **fitted}
    return {}


def decide(probabilities: np.ndarray, labels: Sequence[str], decision: dict[str, Any]) -> list[str]:
    """The called label of each row of calibrated probabilities (see the module docstring)."""
    labels = list(labels)
    if "members" in decision:
        members = member_indices(labels, decision)
        others = np.array([index for index in range(len(labels)) if index not in members])
        called = positive_scores(probabilities, labels, decision) >= decision["threshold"]
        best_member = members[probabilities[:, members].argmax(axis=1)]
        best_other = others[probabilities[:, others].argmax(axis=1)]
        return [labels[index] for index in np.where(called, best_member, best_other)]
    if len(labels) == 2 and "threshold" in decision:
        positive = labels.index(decision["positive_label"])
        called = probabilities[:, positive] >= decision["threshold"]
        return [labels[positive] if hit else labels[1 - positive] for hit in called]
    return [labels[index] for index in probabilities.argmax(axis=1)]


def combined_probabilities(probabilities: np.ndarray, labels: Sequence[str],
                           decision: dict[str, Any]) -> dict[str, np.ndarray]:
    """``{union name: summed probability per row}`` for a combination, else empty."""
    if "members" not in decision:
        return {}
    return {decision["positive_label"]: positive_scores(probabilities, labels, decision)}


def judged_labels(labels: Sequence[str], decision: dict[str, Any]) -> tuple[str, ...]:
    """The labels the classifier can judge: its own and a combination's name."""
    return (*labels, decision["positive_label"]) if "members" in decision else tuple(labels)


def label_probability(probabilities: np.ndarray, labels: Sequence[str], decision: dict[str, Any],
                      requested: Sequence[str]) -> np.ndarray:
    """Each row's probability of its ``requested`` label, a combination's name giving its members' sum."""
    columns = {label: probabilities[:, index] for index, label in enumerate(labels)}
    columns.update(combined_probabilities(probabilities, labels, decision))
    return np.array([columns[label][row] for row, label in enumerate(requested)])


def called_as(called: Sequence[str], decision: dict[str, Any], requested: Sequence[str]) -> list[str]:
    """The called labels, a member of a combination read as the combination where that was requested."""
    members = set(decision.get("members", ()))
    union = decision.get("positive_label")
    return [union if label in members and wanted == union else label
            for label, wanted in zip(called, requested, strict=True)]
