"""What a classifier said about an image, in the plain terms the exported objects and the report record.

Built by the faces from a loaded bundle (``model_summary(name, metadata_document)``), so the writers here need
no engine: name, version and the sha256 of the weights identify the model exactly; probabilities, threshold
and decision are the result; the statement says it is decision support.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DECISION_SUPPORT = (
    "Decision support only: produced by a machine-learning model, to be reviewed by a qualified reader; "
    "not a diagnosis."
)


@dataclass(frozen=True)
class ModelSummary:
    """A model bundle as a report names it: identity, what it was trained on and its held-out metrics."""

    name: str
    version: str
    weights_sha256: str
    description: str = ""
    training_data: str = ""
    licence: str = ""
    metrics_split: str = ""
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ClassificationResult:
    """One image's calibrated probabilities, the decision and how it was reached.

    ``threshold`` applies to ``positive_label``'s probability (two labels); without one the most probable label
    is the prediction. ``slice_index`` is the slice ``k`` of the source series the image is.
    """

    model: ModelSummary
    probabilities: dict[str, float]
    prediction: str
    threshold: float | None = None
    positive_label: str | None = None
    slice_index: int = 0

    def decision_text(self) -> str:
        """How the prediction follows from the probabilities, in words."""
        if self.threshold is not None and self.positive_label:
            p = self.probabilities[self.positive_label]
            side = ">=" if p >= self.threshold else "<"
            return f"{self.prediction} (p({self.positive_label}) = {p:.3f} {side} threshold {self.threshold:.3f})"
        return f"{self.prediction} (most probable label)"


def classification_result(model: ModelSummary, probabilities: dict[str, float], prediction: str, decision: dict,
                          slice_index: int = 0) -> ClassificationResult:
    """One image's result, its threshold and thresholded label taken from the bundle's ``decision`` metadata."""
    return ClassificationResult(model, dict(probabilities), prediction, decision.get("threshold"),
                                decision.get("positive_label"), slice_index=slice_index)


REPORTED_METRICS = ("auc", "accuracy", "recall", "specificity", "ece")


def model_summary(name: str, document: dict) -> ModelSummary:
    """The :class:`ModelSummary` of a bundle named ``name`` from its ``configs/metadata.json`` document."""
    data = document.get("training_data") or {}
    metrics = document.get("metrics") or {}
    split = "test" if "test" in metrics else next(iter(metrics), "")
    values = {key: float(value) for key, value in (metrics.get(split) or {}).items()
              if key in REPORTED_METRICS and isinstance(value, int | float)}
    return ModelSummary(
        name=name,
        version=str(document.get("version", "")),
        weights_sha256=str((document.get("weights") or {}).get("sha256", "")),
        description=str(document.get("description", "")),
        training_data=str(data.get("name", "")),
        licence=str(data.get("licence", "")),
        metrics_split=split,
        metrics=values,
    )
