"""The classifier's training recipe: every setting besides the data, its defaults the shipped model's.

The defaults are the recipe of the shipped ``pneumonia-cxr-resnet18`` model (see
:mod:`medstation.engine.classifier.training` for how each is used). Fields declared with
:func:`~medstation.engine.recipes.setting` are the ones ``medstation train classifier`` offers as options.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from medstation.engine.recipes import setting

ARCHITECTURES = ("resnet18", "densenet121")
"""The networks :mod:`medstation.engine.classifier.network` builds."""
STEMS = ("3x3", "7x7")
"""ResNet stems: ``3x3`` keeps the full resolution of small images (28x28); ``7x7`` is the ImageNet stem (stride 2
and a max-pool, a quarter of the pixels after it), for radiographs at 192-256 px."""
SHIPPED_WIDTHS = (32, 64, 128, 256)
"""Stage widths of the shipped ResNet-18: half the standard ones, a quarter of the computation, so that the default
budget on PneumoniaMNIST fits within 16 minutes on a 2-core CPU."""


@dataclass(frozen=True)
class Augmentation:
    """Ranges of the random transform of :func:`~medstation.engine.classifier.augment.augment_batch`: rotation in
    degrees, relative scale change, shift as a fraction of the image half-width (0.1 shifts a 28-pixel image by up
    to 1.4 pixels)."""

    rotation_degrees: float = 10.0
    scale: float = 0.10
    shift: float = 0.10

    @property
    def enabled(self) -> bool:
        return self.rotation_degrees > 0 or self.scale > 0 or self.shift > 0


@dataclass(frozen=True)
class TrainingRecipe:
    """Everything that decides the trained weights besides the data. Defaults: the shipped model's recipe.

    ``steps`` is the budget in optimiser steps: the one-cycle schedule spans it, whatever the size of the data,
    so a small data set gets as many updates as a large one (240 steps are 6.5 epochs of PneumoniaMNIST's 4,708
    training images at 128 per step, 61 epochs of 500 images). The validation split is scored after every epoch,
    or every ``steps / 20`` steps when epochs are shorter; training stops early after ``patience`` scorings
    without a better validation AUC, counted once the learning rate has annealed below half its peak.
    ``combine`` names a union of labels reported as one (``pneumonia=bacteria,virus``): its summed probability
    gets the decision threshold (see :mod:`medstation.engine.classifier.decision`). ``learning_rate`` is the peak
    of the one-cycle schedule, reached after ``warmup`` of the steps; ``ema_decay`` is the weight the average keeps
    per optimiser step; ``intensity`` is the bundle's normalisation
    method, its parameters measured on the training split (``range``: the split's lowest and highest values map
    to 0 and 1, so brightness differences between images are kept, which per-image ``minmax`` would remove).
    """

    architecture: str = setting("resnet18", "network architecture", choices=ARCHITECTURES)
    widths: tuple[int, ...] = setting(SHIPPED_WIDTHS, "ResNet-18 stage widths", metavar="W1,W2,W3,W4")
    stem: str = setting("3x3", "ResNet stem: 3x3 for small images, 7x7 (stride 2, max-pool) for 192 px and up",
                        choices=STEMS)
    steps: int = setting(240, "training budget in optimiser steps")
    batch_size: int = setting(128, "images per optimiser step")
    learning_rate: float = setting(2e-3, "peak of the one-cycle schedule")
    weight_decay: float = 0.05
    warmup: float = 0.15
    label_smoothing: float = 0.05
    ema_decay: float = 0.95
    patience: int = setting(3, "stop after this many validation scorings without a better validation AUC")
    seed: int = setting(0, "random seed")
    spatial_size: tuple[int, ...] | None = setting(
        None, "resize images to this size in voxels, one number for every side (default: as stored)", flag="size",
        metavar="N[,N...]",
    )
    intensity: str = "range"
    modalities: tuple[str, ...] = setting((), "DICOM modalities the model is made for, e.g. DX,CR", metavar="CODE,...")
    combine: str = setting("", "labels also reported as one, with the decision threshold on their summed probability",
                           metavar="NAME=LABEL,LABEL")
    augmentation: Augmentation = field(default_factory=Augmentation)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "widths": list(self.widths), "modalities": list(self.modalities)}
