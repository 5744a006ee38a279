"""Saliency for a classifier bundle: the image prepared as the bundle says, the map back on the image's grid.

This is what the ``classify --saliency`` command and the GUI's AI panel call. The workstation imports this module
when it starts, so the methods (torch, MONAI, Captum) are imported where a map is made.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from medstation.core.volume import Volume
from medstation.engine.classifier import Classifier, load_classifier, prepare_batch
from medstation.engine.saliency.maps import SaliencyMap
from medstation.errors import ModelError
from medstation.progress import CancelToken, ProgressCallback, check_cancelled

if TYPE_CHECKING:
    from medstation.engine.saliency.checks import Faithfulness


@dataclass(frozen=True)
class BundleExplanation:
    """A saliency map of a bundle's prediction.

    Attributes
    ----------
    saliency
        The map on the input image's ``[j, i]`` grid; its ``probability`` is the bundle's calibrated one.
    label
        Name of the explained label.
    faithfulness
        Deletion-curve score of the map at the network's input size, when it was asked for.
    """

    saliency: SaliencyMap
    label: str
    faithfulness: Faithfulness | None


def explain_with_bundle(
    bundle: str | Path | Classifier,
    image: Volume | np.ndarray,
    method: str = "gradcam",
    target: int | str | None = None,
    with_faithfulness: bool = False,
    progress: ProgressCallback | None = None,
    cancel: CancelToken = None,
    source: str = "image",
) -> BundleExplanation:
    """Explain a classifier bundle's output for one 2D image.

    Parameters
    ----------
    bundle
        A bundle name from the registry, a bundle folder, or an already loaded :class:`Classifier`.
    image
        A one-slice :class:`~medstation.core.volume.Volume` or an array ``[j, i]`` / ``[C, j, i]`` in the image's
        own units; it is resized and normalised exactly as the classifier does.
    method
        One of :data:`medstation.engine.saliency.maps.METHODS`.
    target
        Label name or index to explain; the label the bundle predicts (with its fitted threshold) when ``None``.
    with_faithfulness
        Also compute the deletion-curve score (about 120 more images through the network).
    progress, cancel
        Progress callback and cancel token.
    source
        What the image is (its file), named in the error when the classifier cannot take it.
    """
    from medstation.engine.saliency.checks import faithfulness
    from medstation.engine.saliency.methods import explain, on_image_grid

    classifier = bundle if isinstance(bundle, Classifier) else load_classifier(str(bundle))
    spec = classifier.input_spec
    if spec.spatial_dims != 2:
        raise ModelError(f"{classifier.name}: saliency maps are made for 2D classifiers; this one takes 3-D volumes")
    array = classifier.image_input(image, source)
    batch = prepare_batch([array], spec)
    probabilities = classifier.probabilities(batch)[0]
    index = _label_index(classifier, target, probabilities)
    check_cancelled(cancel)
    at_network = explain(classifier.network, batch[0], method, index, progress=progress, cancel=cancel)
    values = on_image_grid(at_network.values, tuple(array.shape[-2:]))
    score = faithfulness(classifier.network, batch[0], at_network) if with_faithfulness else None
    saliency = replace(at_network, values=values, probability=float(probabilities[index]))
    return BundleExplanation(saliency=saliency, label=classifier.labels[index], faithfulness=score)


def _label_index(classifier: Classifier, target: int | str | None, probabilities: np.ndarray) -> int:
    labels = classifier.labels
    if target is None:
        return labels.index(classifier.decide(probabilities[np.newaxis])[0])
    if isinstance(target, str):
        if target not in labels:
            raise ModelError(f"{classifier.name} has no label {target!r}; its labels are {', '.join(labels)}")
        return labels.index(target)
    if not 0 <= target < len(labels):
        raise ModelError(f"class index {target} is out of range: {classifier.name} has {len(labels)} labels")
    return int(target)
