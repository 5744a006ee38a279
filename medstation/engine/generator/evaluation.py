"""Measure a generator against a held-out split, with reference points measured the same way in the same run.

Every set compared with the real split has the split's size and class mix, and every distance is taken in the
feature space of :class:`~medstation.engine.generator.confidence.FeatureNetwork`:

- ``fd``: the generator's samples, asked for in the split's classes;
- ``references.floor``: real training images with the same class counts (two real samples: the best reachable);
- ``references.blurred_real``: the split's own images blurred with a 3x3 box filter (a near-miss);
- ``references.baseline``: each class's mean training image plus Gaussian noise of that class's per-pixel spread.

Fidelity and diversity are the k-NN precision and recall of the samples against the split; conditional accuracy is
the share of samples the classifier calls the class they were asked for, beside the share of the real split's
images (at the generator's size) it calls their own class: the most a generator can reach. The memorisation check
compares each sample's pixel distance to its nearest training image with the same distance for the real split's
images: the 5th percentile over samples must not fall below the real images' 5th percentile.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from medstation.engine.classifier import LabelledImages, called_as, normalise_intensity, resize_batch
from medstation.engine.generator.confidence import FeatureNetwork, requested_class_probability
from medstation.engine.generator.model import Generator
from medstation.engine.generator.quality import box_blur, frechet_distance, knn_precision_recall, nearest_distances
from medstation.errors import ModelError
from medstation.progress import CancelToken, ProgressCallback, check_cancelled, report

CONDITIONAL_ACCURACY_GOAL = 0.90
MEMORISATION_PERCENTILE = 5.0
NEAREST_NEIGHBOURS = 3


def unit_images(generator: Generator, images: np.ndarray) -> np.ndarray:
    """Stored images ``(N, 1, H, W)`` resized to the generator's size and scaled to [0, 1] as it was trained."""
    if images.ndim != 4 or images.shape[1] != 1:
        raise ModelError(f"the generator's images are grey 2-D; got data of shape {images.shape}")
    spec = generator.bundle.metadata.input_spec
    resized = resize_batch(images.astype(np.float32), generator.image_size)
    return normalise_intensity(resized, spec.intensity)[:, 0]


def generator_classes(generator: Generator, data: LabelledImages, classes: np.ndarray) -> np.ndarray:
    """The data's class indices as the generator's class indices, matched by label name."""
    mapping = []
    for name in data.label_names:
        if name not in generator.labels:
            raise ModelError(
                f"{data.source}: class {name!r} is not one the generator makes ({', '.join(generator.labels)}); "
                "give data labelled with the generator's classes"
            )
        mapping.append(generator.labels.index(name))
    return np.asarray(mapping, dtype=np.int64)[classes]


def matched_subsample(classes: np.ndarray, wanted: np.ndarray, random: np.random.Generator) -> np.ndarray:
    """Indices into ``classes`` drawn without replacement so that each class appears as often as in ``wanted``."""
    picked = []
    for value in np.unique(wanted):
        pool = np.flatnonzero(classes == value)
        count = int((wanted == value).sum())
        if len(pool) < count:
            raise ModelError(f"only {len(pool)} training images of class {value} to match {count} held-out ones")
        picked.append(random.choice(pool, size=count, replace=False))
    return np.concatenate(picked)


def mean_plus_noise(train: np.ndarray, train_classes: np.ndarray, wanted: np.ndarray,
                    random: np.random.Generator) -> np.ndarray:
    """For each wanted class, that class's mean training image plus Gaussian noise of its per-pixel spread."""
    images = np.empty((len(wanted), *train.shape[1:]), dtype=np.float32)
    for value in np.unique(wanted):
        members = train[train_classes == value]
        rows = np.flatnonzero(wanted == value)
        noise = random.standard_normal((len(rows), *train.shape[1:])) * members.std(axis=0)
        images[rows] = np.clip(members.mean(axis=0) + noise, 0.0, 1.0)
    return images


def memorisation(samples: np.ndarray, real: np.ndarray, train: np.ndarray) -> dict[str, Any]:
    """Pixel distances to the nearest training image: the samples' 5th percentile against the real split's."""
    sample_distances = nearest_distances(samples, train)
    real_distances = nearest_distances(real, train)
    sample_p5 = float(np.percentile(sample_distances, MEMORISATION_PERCENTILE))
    real_p5 = float(np.percentile(real_distances, MEMORISATION_PERCENTILE))
    return {
        "sample_p5": sample_p5,
        "real_p5": real_p5,
        "sample_min": float(sample_distances.min()),
        "real_min": float(real_distances.min()),
        "samples_closer_than_real_p5": float((sample_distances < real_p5).mean()),
        "passed": sample_p5 >= real_p5,
    }


def goals(metrics: dict[str, Any], references: dict[str, float]) -> dict[str, bool]:
    """Which goals of the shipped model the measurements meet."""
    return {
        "fd_below_blurred_real": metrics["fd"] < references["blurred_real"],
        "fd_within_twice_floor": metrics["fd"] <= 2.0 * references["floor"],
        "conditional_accuracy_at_least_0.90": metrics["conditional_accuracy"] >= CONDITIONAL_ACCURACY_GOAL,
        "no_memorisation": bool(metrics["memorisation"]["passed"]),
    }


def evaluate_generator(
    generator: Generator,
    data: LabelledImages,
    features: FeatureNetwork,
    split: str = "test",
    seed: int = 0,
    progress: ProgressCallback | None = None,
    cancel: CancelToken = None,
) -> dict[str, Any]:
    """The evaluation document of ``evaluate generator --json`` (see the module docstring)."""
    features.check_labels(generator.labels)
    held_out, train = data.split(split), data.split("train")
    wanted = generator_classes(generator, data, held_out.labels)
    train_classes = generator_classes(generator, data, train.labels)
    intensity = generator.bundle.metadata.input_spec.intensity
    real, train_images = unit_images(generator, held_out.images), unit_images(generator, train.images)
    random = np.random.default_rng(seed)
    report(progress, 0.05, f"sampling {len(wanted)} images")
    samples = generator.sample_classes(wanted, seed)
    sets = {
        "real": real,
        "samples": samples,
        "floor": train_images[matched_subsample(train_classes, wanted, random)],
        "blurred_real": box_blur(real),
        "baseline": mean_plus_noise(train_images, train_classes, wanted, random),
    }
    read = {}
    for number, (name, images) in enumerate(sets.items()):
        check_cancelled(cancel)
        read[name] = features.read(images, intensity)
        report(progress, 0.1 + 0.7 * (number + 1) / len(sets), f"features of {name}")
    real_features = read["real"][0]
    precision, recall = knn_precision_recall(real_features, read["samples"][0], NEAREST_NEIGHBOURS)
    requested = [generator.labels[c] for c in wanted]
    called = called_as(features.classifier.decide(read["samples"][1]), features.classifier.decision, requested)
    called_real = called_as(features.classifier.decide(read["real"][1]), features.classifier.decision, requested)
    confidence = requested_class_probability(read["samples"][1], requested, features.classifier)
    report(progress, 0.9, "distances to the training images")
    metrics = {
        "fd": frechet_distance(read["samples"][0], real_features),
        "precision": precision,
        "recall": recall,
        "conditional_accuracy": float(np.mean([a == b for a, b in zip(called, requested, strict=True)])),
        "real_conditional_accuracy": float(np.mean([a == b for a, b in zip(called_real, requested, strict=True)])),
        "mean_conditional_confidence": float(confidence.mean()),
        "memorisation": memorisation(samples, real, train_images),
    }
    references = {name: frechet_distance(read[name][0], real_features) for name in ("floor", "blurred_real",
                                                                                    "baseline")}
    report(progress, 1.0, "evaluated")
    return {
        "model": generator.name,
        "data": str(data.source),
        "split": split,
        "n": len(wanted),
        "class_counts": {label: int((wanted == index).sum()) for index, label in enumerate(generator.labels)},
        "seed": seed,
        "metrics": metrics,
        "references": references,
        "goals": goals(metrics, references),
        "feature_network": features.description,
    }
