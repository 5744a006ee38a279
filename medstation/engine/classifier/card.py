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
from medstation.engine.metrics import SUMMARY_METRICS

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
    threshold: float | None,
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
        },
        "metrics": metrics,
        "confusion_matrices": confusion_matrices,
        "calibration": {"temperature": temperature, "method": "temperature scaling", "fitted_on": "val"},
        "training": {
            "command": command,
            "recipe": recipe.as_dict(),
            "model_selection": "best validation AUC of the EMA weights, early stopping on it",
            **asdict(outcome),
        },
        **library_versions(),
    }
    if threshold is not None:
        document["decision"] = {
            "positive_label": data.label_names[1],
            "threshold": threshold,
            "method": "youden",
            "fitted_on": "val",
        }
    return document


def _metric_rows(metrics: dict[str, Any]) -> list[str]:
    rows = []
    for name in SUMMARY_METRICS:
        if name in metrics:
            interval = metrics.get(f"{name}_ci95")
            rows.append((name, f"{metrics[name]:.4f}", f"{interval[0]:.3f} to {interval[1]:.3f}" if interval else ""))
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
    how = [
        f"Kept epoch {training['best_epoch']} of {training['epochs_run']} run ({training['model_selection']}); "
        f"{training['seconds'] / 60:.1f} minutes. Calibration temperature "
        f"{metadata['calibration']['temperature']:.3f} fitted on the validation split."
    ]
    decision = metadata.get("decision")
    if decision:
        how += [
            "",
            f"Decision: `{decision['positive_label']}` when its calibrated probability is at least "
            f"{decision['threshold']:.4f} (Youden's J on the validation split).",
        ]
    return model_card(
        name, [overview, ""], named_splits(data) + ".", data, training["command"], [*how, ""],
        _metrics_section(metadata), LIMITS,
    )
