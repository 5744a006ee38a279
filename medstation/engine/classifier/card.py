"""The metadata document and the model card (``docs/README.md``) of a freshly trained classifier bundle.

The card's skeleton (title, data, recorded command, limits) is :func:`medstation.engine.bundles.model_card`; here
are what the classifier takes, how it was trained and calibrated, and its metrics per split.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from medstation.engine.bundles import (
    BUNDLE_VERSION,
    InputSpec,
    library_versions,
    model_card,
    named_splits,
    table,
    training_data,
)
from medstation.engine.classifier.data import LabelledImages
from medstation.engine.classifier.recipe import TrainingRecipe

if TYPE_CHECKING:
    from medstation.engine.classifier.training import TrainingOutcome

LIMITS = (
    "For research use only; not a medical device and not for diagnosis. It has only seen images like its training "
    "data; other sources, scanners or populations may perform worse."
)


def classifier_metadata(
    data: LabelledImages,
    spec: InputSpec,
    network_spec: dict[str, Any],
    recipe: TrainingRecipe,
    outcome: TrainingOutcome,
    temperature: float,
    decision: dict[str, Any],
    metrics: dict[str, dict[str, Any]],
    confusion_matrices: dict[str, list[list[int]]],
    command: str,
    data_description: dict[str, str | None] | None = None,
) -> dict[str, Any]:
    """``metadata.json`` of a trained classifier (without the weights' sha256, which writing adds)."""
    input_document: dict[str, Any] = {
        "spatial_dims": spec.spatial_dims,
        "spatial_size": list(spec.spatial_size),
        "channels": spec.channels,
        "intensity": {"method": spec.intensity.method, **spec.intensity.parameters},
    }
    if spec.modalities:
        input_document["modalities"] = list(spec.modalities)
    splits = {name: len(split) for name, split in data.splits.items()}
    document: dict[str, Any] = {
        "version": BUNDLE_VERSION,
        "task": "classification",
        "description": f"{network_spec['architecture']} classifier of {', '.join(data.label_names)}",
        "labels": list(data.label_names),
        "input": input_document,
        "network": network_spec,
        "training_data": {
            **training_data(data_description, data.source.name, splits),
            "subgroup_attributes": sorted(next(iter(data.splits.values())).groups),
            **({"columns": data.columns} if data.columns else {}),
        },
        "metrics": metrics,
        "confusion_matrices": confusion_matrices,
        "calibration": {"temperature": temperature, "method": "temperature scaling", "fitted_on": "val"},
        "training": {
            "command": command,
            "recipe": recipe.as_dict(),
            "model_selection": "best validation AUC of the EMA weights, early stopping on it",
            **asdict(outcome),
            "still_improving": outcome.still_improving,
        },
        **library_versions(),
    }
    if decision:
        document["decision"] = decision
    return document


def _metric_rows(metrics: dict[str, Any]) -> list[str]:
    rows = []
    for name, value in metrics.items():
        if not name.endswith("_ci95"):
            interval = metrics.get(f"{name}_ci95")
            rows.append((name, f"{value:.4f}", f"{interval[0]:.3f} to {interval[1]:.3f}" if interval else ""))
    return table(("metric", "value", "95% CI"), rows)


def _metrics_section(metadata: dict[str, Any]) -> list[str]:
    lines = ["## Metrics", ""]
    for split, values in metadata["metrics"].items():
        matrix = metadata["confusion_matrices"].get(split)
        lines += [f"### {split} split", "", *_metric_rows(values), ""]
        if matrix:
            lines += [f"Confusion matrix (rows true, columns predicted, order {', '.join(metadata['labels'])}): "
                      f"{matrix}", ""]
    if not metadata["training_data"]["subgroup_attributes"]:
        lines += [
            "## Fairness",
            "",
            "The data carries no subgroup attributes (sex, age, site), so subgroup fairness could not be measured.",
            "",
        ]
    return lines


def _decision_lines(decision: dict[str, Any]) -> list[str]:
    if not decision:
        return []
    if "members" in decision:
        lines = [
            "",
            f"Decision: `{decision['positive_label']}` when the summed calibrated probability of "
            f"{', '.join(f'`{member}`' for member in decision['members'])} is at least {decision['threshold']:.4f} "
            "(Youden's J on the validation split); the image is then called its most probable member, else its most "
            "probable other label.",
        ]
        within = decision.get("within")
        if within:
            lines += [
                "",
                f"`{within['negative_label']}` vs `{within['positive_label']}` (among images of "
                f"`{decision['positive_label']}`): the share of `{within['positive_label']}` in their summed "
                f"probability, threshold {within['threshold']:.4f} fitted on the validation split.",
            ]
        return lines
    return [
        "",
        f"Decision: `{decision['positive_label']}` when its calibrated probability is at least "
        f"{decision['threshold']:.4f} (Youden's J on the validation split).",
    ]


def classifier_card(name: str, metadata: dict[str, Any]) -> str:
    """The model card: what the model does, its data, how it was trained, its metrics per split, its limits."""
    data, training, spec = metadata["training_data"], metadata["training"], metadata["input"]
    size = "x".join(map(str, spec["spatial_size"]))
    intensity = ", ".join(f"{key} {value:g}" for key, value in spec["intensity"].items() if key != "method")
    overview = (
        f"{metadata['description']}: {spec['spatial_dims']}-D images of {spec['channels']} channel(s), "
        f"resized to {size}, intensity normalisation `{spec['intensity']['method']}`"
        + (f" ({intensity})" if intensity else "")
        + (f"; modalities {', '.join(spec['modalities'])}" if spec.get("modalities") else "")
        + "."
    )
    stopped = "early stopping" if training["stopped"] == "early" else "the budget ran out"
    how = [
        f"Kept the weights of step {training['best_step']} of {training['steps_run']} run of a budget of "
        f"{training['budget']} optimiser steps ({stopped}; {training['model_selection']}); "
        f"{training['seconds'] / 60:.1f} minutes. Calibration temperature "
        f"{metadata['calibration']['temperature']:.3f} fitted on the validation split."
    ]
    if training.get("still_improving"):
        how += ["", "The validation AUC was still rising when the budget ran out: a larger budget may do better."]
    how += _decision_lines(metadata.get("decision") or {})
    return model_card(
        name, [overview, ""], named_splits(data) + ".", data, training["command"], [*how, ""],
        _metrics_section(metadata), _limits(data),
    )


def _limits(data: dict[str, Any]) -> str:
    if not data.get("population"):
        return LIMITS
    return f"{LIMITS} Its training images are of {data['population']}; it was never validated on anyone else."
