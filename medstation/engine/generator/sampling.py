"""What the workstation's generator panel runs in jobs: list generators, sample with confidences, make a Volume.

The workstation imports this module when it starts, so the generator and its judge (torch) are imported where
samples are made.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from medstation.core.volume import Volume, VolumeInfo, WindowPreset
from medstation.engine.families import FAMILIES
from medstation.errors import MedStationError
from medstation.io.synthetic.provenance import SYNTHETIC, SyntheticProvenance
from medstation.progress import CancelToken, ProgressCallback, check_cancelled, report


@dataclass(frozen=True)
class GeneratorChoice:
    """A generation bundle as the panel lists it; ``problem`` is None for a usable one."""

    name: str
    labels: list[str]
    problem: str | None


@dataclass
class GeneratedSamples:
    """One ``Generator.sample`` call with the classifier's confidence in each requested class.

    ``confidences`` is None, with ``confidence_problem`` saying why, when the classifier could not score them.
    ``thumbnails`` are the 8-bit labelled viewing copies (as the PNG export draws them), shrunk to fit
    ``thumbnail_pixels``, one per image.
    """

    images: np.ndarray
    labels: list[str]
    seed: int
    model: str
    confidences: np.ndarray | None
    confidence_problem: str | None
    thumbnails: list[np.ndarray]

    def provenance(self, index: int) -> SyntheticProvenance:
        return SyntheticProvenance(self.model, self.seed, index, self.labels[index])

    @property
    def mean_confidence(self) -> float | None:
        """The classifier's mean probability of the requested classes, None where it could not score them."""
        return None if self.confidences is None else float(np.mean(self.confidences))


def list_generators(progress: ProgressCallback | None = None, cancel: CancelToken = None) -> list[GeneratorChoice]:
    """Every installed generator bundle (weights checksummed)."""
    return [
        GeneratorChoice(entry.name, list(entry.metadata.labels), entry.problem)
        for entry in FAMILIES["generator"].bundles()
    ]


def generate_samples(
    model: str,
    n: int,
    label: str | None,
    seed: int,
    thumbnail_pixels: int = 140,
    progress: ProgressCallback | None = None,
    cancel: CancelToken = None,
) -> GeneratedSamples:
    """Sample ``n`` images of ``label`` (None: the training class mix) and score each with the shipped classifier."""
    from medstation.engine.generator.confidence import conditional_confidence
    from medstation.engine.generator.model import load_generator

    report(progress, 0.05, f"loading {model}")
    generator = load_generator(model)
    check_cancelled(cancel)
    report(progress, 0.3, f"sampling {n} images")
    batch = generator.sample(n, label=label, seed=seed)
    check_cancelled(cancel)
    report(progress, 0.5, "classifying the samples")
    confidences, problem = None, None
    try:
        confidences = conditional_confidence(batch.images, batch.labels)
    except MedStationError as error:
        problem = str(error)
    check_cancelled(cancel)
    report(progress, 0.9, "drawing thumbnails")
    thumbnails = [labelled_thumbnail(image, thumbnail_pixels) for image in batch.images]
    report(progress, 1.0, f"{n} synthetic images")
    return GeneratedSamples(batch.images, list(batch.labels), batch.seed, batch.model, confidences, problem, thumbnails)


def labelled_thumbnail(image: np.ndarray, pixels: int) -> np.ndarray:
    """The PNG export's labelled viewing copy of ``image``, shrunk (box filter) to fit ``pixels`` x ``pixels``."""
    from PIL import Image

    from medstation.io.synthetic.png import viewing_pixels

    thumbnail = Image.fromarray(viewing_pixels(image))
    thumbnail.thumbnail((pixels, pixels), Image.Resampling.BOX)
    return np.asarray(thumbnail)


def synthetic_volume(samples: GeneratedSamples, index: int) -> Volume:
    """One sample as a one-slice Volume for the viewer, named SYNTHETIC and without patient geometry."""
    provenance = samples.provenance(index)
    info = VolumeInfo(
        patient_name=SYNTHETIC,
        patient_id=f"{SYNTHETIC}-{provenance.seed}-{provenance.index}",
        study_description=f"{SYNTHETIC} images from {provenance.model}",
        series_description=provenance.short_description(),
        modality="OT",
        photometric="MONOCHROME2",
        window_presets=[WindowPreset(0.5, 1.0, "sample range")],
    )
    array = np.ascontiguousarray(samples.images[index][np.newaxis], dtype=np.float32)
    return Volume(array, np.eye(4), info, has_patient_geometry=False, spacing_known=False)
