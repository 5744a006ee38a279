"""Which bundle an image is made for: among the bundles whose input accepts the image, the one whose input size is
nearest the image's own size.

A bundle accepts an image when its ``input`` spec takes it as the classifier would (the same rules as
:func:`medstation.engine.classifier.inputs.volume_to_input`): the image's DICOM modality is one the bundle lists (or
either is unknown), it is one volume (not a series over time), it has one slice for a 2-D model and several for a
3-D one, and three channels for colour, one for grey. Size is compared on a log scale, axis by axis, so a 28-pixel
model suits a 28- to 56-pixel thumbnail and a 224-pixel model a 1024-pixel radiograph: a model is best used at the
resolution it was trained at, and the image is resized to its input either way. Pure Python; the AI panel calls it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from medstation.core.volume import Volume
from medstation.engine.bundles.metadata import InputSpec


def accepts(spec: InputSpec, volume: Volume) -> bool:
    """Whether a bundle with input ``spec`` can take ``volume``."""
    return refusal(spec, volume) is None


def refusal(spec: InputSpec, volume: Volume) -> str | None:
    """Why a bundle with input ``spec`` cannot take ``volume`` (a phrase to follow "the model"), None when it can."""
    modality = volume.info.modality.upper()
    if spec.modalities and modality and modality not in spec.modalities:
        return f"is made for {', '.join(spec.modalities)} images, not {modality}"
    if volume.n_volumes != 1:
        return f"takes one volume, not a series of {volume.n_volumes}"
    slices = volume.spatial_shape[0]
    if (spec.spatial_dims == 2) != (slices == 1):
        return "takes single 2D images, not volumes" if spec.spatial_dims == 2 else "takes volumes, not single images"
    kinds = {1: "greyscale", 3: "colour"}
    channels = 3 if volume.is_rgb else 1
    if spec.channels != channels:
        return f"takes {kinds.get(spec.channels, spec.channels)} images, not {kinds[channels]}"
    return None


def image_size(volume: Volume, spatial_dims: int) -> tuple[int, ...]:
    """The image's size in voxels along the axes a model of ``spatial_dims`` takes: ``(j, i)`` or ``(k, j, i)``."""
    return tuple(volume.spatial_shape[-spatial_dims:])


def size_distance(spec: InputSpec, volume: Volume) -> float:
    """Mean over the axes of ``|ln(image size / input size)|``: 0 when the image has the input's size."""
    size = image_size(volume, spec.spatial_dims)
    return sum(abs(math.log(max(n, 1) / m)) for n, m in zip(size, spec.spatial_size, strict=True)) / len(size)


def best_bundle(volume: Volume, candidates: Sequence[tuple[str, InputSpec]], current: str | None = None) -> str | None:
    """The name of the candidate ``(name, input spec)`` made for ``volume``, None when none accepts it.

    Among the candidates that accept the image, the one with the least :func:`size_distance`; ``current`` (the
    user's choice) when it is as near as any, else the first listed.
    """
    fitting = [(size_distance(spec, volume), name) for name, spec in candidates if accepts(spec, volume)]
    if not fitting:
        return None
    nearest = min(distance for distance, _ in fitting)
    tied = [name for distance, name in fitting if math.isclose(distance, nearest, rel_tol=1e-9, abs_tol=1e-9)]
    return current if current in tied else tied[0]
