"""The metadata document and the model card (``docs/README.md``) of a freshly trained generator bundle.

The card's skeleton (title, data, recorded command, limits) is :func:`medstation.engine.bundles.model_card`; here
are what the generator makes, how it was trained and the quality it was measured at.
"""

from __future__ import annotations

from typing import Any

from medstation.engine.bundles import (
    BUNDLE_VERSION,
    IntensitySpec,
    library_versions,
    model_card,
    named_splits,
    table,
    training_data,
)
from medstation.engine.generator.recipe import GeneratorRecipe


def metadata_metrics(evaluation: dict[str, Any]) -> dict[str, float]:
    """The evaluation as the flat numbers the bundle schema's ``metrics`` holds."""
    metrics, memorised = evaluation["metrics"], evaluation["metrics"]["memorisation"]
    flat = {name: float(metrics[name]) for name in ("fd", "precision", "recall", "conditional_accuracy",
                                                    "mean_conditional_confidence")}
    flat.update({f"{name}_fd": float(value) for name, value in evaluation["references"].items()})
    flat.update({f"memorisation_{name}": float(memorised[name]) for name in ("sample_p5", "real_p5")})
    return flat


def generator_metadata(
    labels: list[str],
    class_counts: dict[str, int],
    intensity: IntensitySpec,
    image_size: tuple[int, int],
    recipe: GeneratorRecipe,
    training: dict[str, Any],
    splits: dict[str, int],
    evaluation: dict[str, Any] | None,
    data_description: dict[str, str | None],
) -> dict[str, Any]:
    """``metadata.json`` of a trained generator (without the weights' sha256, which writing adds);
    ``data_description`` holds the data's ``source`` and, where given, its ``name``, ``licence`` and ``citation``."""
    total = sum(class_counts.values())
    document: dict[str, Any] = {
        "version": BUNDLE_VERSION,
        "task": "generation",
        "description": f"class-conditional GAN of synthetic {', '.join(labels)} images (synthetic, not patient data)",
        "labels": list(labels),
        "class_mix": {label: class_counts[label] / total for label in labels},
        "input": {
            "spatial_dims": 2,
            "spatial_size": list(image_size),
            "channels": 1,
            "intensity": {"method": intensity.method, **intensity.parameters},
        },
        "network": recipe.network_spec(),
        "training_data": training_data(data_description, data_description["source"], splits),
        "metrics": {evaluation["split"]: metadata_metrics(evaluation)} if evaluation else {},
        "training": {"recipe": recipe.as_dict(), **training},
        **library_versions(),
    }
    if evaluation:
        document["evaluation"] = evaluation
    return document


def _evaluation_lines(evaluation: dict[str, Any]) -> list[str]:
    metrics, references, memorised = evaluation["metrics"], evaluation["references"], evaluation["metrics"][
        "memorisation"]
    counts = ", ".join(f"{count} {label}" for label, count in evaluation["class_counts"].items())
    return [
        f"Measured on the {evaluation['split']} split ({evaluation['n']} images: {counts}) with "
        f"`medstation evaluate generator`; features: {evaluation['feature_network']}, a network trained on the "
        "same domain and never part of the generator's training loss.",
        "",
        *table(("measure", "value"), [
            ("Fréchet distance, generator samples", f"{metrics['fd']:.3f}"),
            ("reference: real train vs real test (floor)", f"{references['floor']:.3f}"),
            ("reference: real test blurred 3x3 (near-miss)", f"{references['blurred_real']:.3f}"),
            ("reference: class mean image plus noise (baseline)", f"{references['baseline']:.3f}"),
            ("k-NN precision (fidelity) / recall (diversity)", f"{metrics['precision']:.3f} / {metrics['recall']:.3f}"),
            ("conditional accuracy (classifier calls the requested class)", f"{metrics['conditional_accuracy']:.3f}"),
            *([(f"reference: real {evaluation['split']} images at this size called their own class",
                f"{metrics['real_conditional_accuracy']:.3f}")] if "real_conditional_accuracy" in metrics else []),
            (f"nearest-training-image distance, 5th percentile: samples / real {evaluation['split']}",
             f"{memorised['sample_p5']:.3f} / {memorised['real_p5']:.3f}"),
        ]),
        "",
        "Goals: " + "; ".join(f"{name} {'met' if met else 'NOT met'}" for name, met in evaluation["goals"].items())
        + ".",
    ]


def generator_card(name: str, metadata: dict[str, Any]) -> str:
    """The model card: what the model makes, its data, how it was trained, its measured quality, its limits."""
    data, training, spec = metadata["training_data"], metadata["training"], metadata["input"]
    size = "x".join(map(str, spec["spatial_size"]))
    mix = ", ".join(f"{label} {fraction:.1%}" for label, fraction in metadata["class_mix"].items())
    overview = (
        f"A {metadata['description']}: {size} grey images, one class asked for per image. Every image it makes is "
        "synthetic: exports are marked SYNTHETIC (PNG text chunk and a burned-in label, NIfTI description, DICOM "
        "SyntheticData YES). Without a class, images come in the training class mix "
        f"({mix})."
    )
    recipe = training["recipe"]
    how = (
        f"Conditional GAN ({metadata['network']['architecture']}: conditional batch normalisation in the generator, "
        "spectrally normalised projection discriminator), hinge loss, Adam betas "
        f"{tuple(recipe['betas'])}, batch {recipe['batch_size']}, {recipe['epochs']} epochs, EMA of the "
        f"generator weights (decay warmed up to {recipe['ema_decay']}), which is what ships. "
        f"{training['seconds'] / 60:.1f} minutes of training ({training['cpu_seconds'] / 60:.1f} CPU-minutes) on "
        f"{training['device']} ({training['threads']} thread(s))."
    )
    evaluation = metadata.get("evaluation")
    quality = _evaluation_lines(evaluation) if evaluation else ["Not measured: the data had no test split."]
    limits = (
        "For research, teaching and software testing only; not for diagnosis, and not patient data: no image shows "
        f"a real patient. It imitates {data['name']} images at {size} and nothing else; "
        "the classes are only as separable as the feature classifier judges them. Distances are measured in one "
        "classifier's feature space, which cannot see everything a radiologist would."
        + (f" Its training images are of {data['population']}; its images look like that population only."
           if data.get("population") else "")
    )
    return model_card(
        name, [overview, ""], named_splits(data) + "; trained on the train split only.", data,
        training.get("command"), [how, ""], ["## Quality", "", *quality, ""], limits,
    )
