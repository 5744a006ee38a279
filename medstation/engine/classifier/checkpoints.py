"""The classifier's training checkpoint: everything :func:`~medstation.engine.classifier.training.fit_network` needs
to continue a run after its last validation scoring.

Written (atomically: a temporary file beside it, then renamed) after every validation scoring when a checkpoint file
is given, by rank 0 alone under torchrun. It holds the plain network's weights (the state-dict names of a network
without ``DistributedDataParallel`` or cross-worker batch normalisation), the average, the optimiser and the
learning-rate schedule, the augmentation's random generator (every worker's is the same), the scorings so far and
the best average. Under torchrun the order of the images depends only on the seed and the epoch, so a run resumes
on any number of workers; a run without torchrun also keeps its own shuffling generator and the epoch's order.
Loaded with ``weights_only=True``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from medstation.engine.classifier.recipe import TrainingRecipe
from medstation.engine.runtime import read_checkpoint, write_checkpoint
from medstation.errors import ModelError


def save_training_checkpoint(path: Path, document: dict[str, Any]) -> None:
    """Write ``document`` to ``path`` atomically."""
    write_checkpoint(path, document)


def load_training_checkpoint(path: Path, recipe: TrainingRecipe, labels: tuple[str, ...]) -> dict[str, Any]:
    """The checkpoint at ``path``, after checking it was made with ``recipe`` and ``labels``."""
    saved = read_checkpoint(path)
    if (not isinstance(saved, dict) or saved.get("recipe") != recipe.as_dict()
            or saved.get("labels") != list(labels)):
        raise ModelError(f"{path}: the checkpoint was made with another recipe or other labels; resume with the "
                         "same options, or start afresh without --resume")
    return saved
