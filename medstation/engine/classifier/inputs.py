"""What a classifier bundle accepts, and how an image becomes the network's input (the bundle's ``input`` spec).

An image reaches the network as ``(channels, *spatial)`` float32: a 2-D model takes one slice ``[j, i]``, a 3-D
model a volume ``[k, j, i]``. Inputs the bundle was not made for (another modality, number of channels or
dimensions) are refused with a :class:`~medstation.errors.ModelError` that says what was found and what the model
takes; nothing is silently reinterpreted. Resizing to ``spatial_size`` and the intensity normalisation follow the
spec, so training and inference prepare images the same way.

The workstation imports this module when it starts (through :mod:`~medstation.engine.classifier.model`), so torch
is imported where an image is resized, the one step that needs it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from medstation.core.volume import Volume
from medstation.engine.bundles import InputSpec, IntensitySpec
from medstation.engine.runtime import load_torch
from medstation.errors import ModelError


def _dims_text(spec: InputSpec) -> str:
    size = "x".join(map(str, spec.spatial_size))
    channels = f"{spec.channels} channel{'s' if spec.channels != 1 else ''}"
    kind = "2-D images" if spec.spatial_dims == 2 else "3-D volumes"
    return f"{kind} ({channels}, resized to {size})"


def check_modality(modality: str, spec: InputSpec, source: str) -> None:
    """ModelError when the image's DICOM modality is known and is not one the model was made for."""
    if spec.modalities and modality and modality.upper() not in spec.modalities:
        raise ModelError(
            f"{source}: modality {modality} is not one this model was made for ({', '.join(spec.modalities)}); "
            "choose a model trained on this kind of image"
        )


def volume_to_input(volume: Volume, spec: InputSpec, source: str = "image") -> np.ndarray:
    """The image of ``volume`` as ``(channels, *spatial)`` float32, after checking the model was made for it.

    A 2-D model takes a volume of one slice (a radiograph, a PNG); a 3-D model a volume of several slices.
    Colour volumes carry three channels. MONOCHROME1 images are inverted so that the network sees bright
    structures bright, as in the MONOCHROME2 images models are trained on.
    """
    check_modality(volume.info.modality, spec, source)
    if volume.n_volumes > 1:
        raise ModelError(
            f"{source}: a series of {volume.n_volumes} volumes over time; this model takes {_dims_text(spec)}, "
            "so pick one volume first"
        )
    array = np.asarray(volume.array, dtype=np.float32)
    if volume.n_volumes == 1 and array.ndim - (1 if volume.is_rgb else 0) == 4:
        array = array[0]
    array = np.moveaxis(array, -1, 0) if volume.is_rgb else array[np.newaxis]
    slices = array.shape[1]
    if spec.spatial_dims == 2:
        if slices != 1:
            raise ModelError(
                f"{source}: a 3-D volume of {slices} slices; this model takes {_dims_text(spec)}, "
                "so classify a single slice or use a 3-D model"
            )
        array = array[:, 0]
    elif slices == 1:
        raise ModelError(f"{source}: a single 2-D image; this model takes {_dims_text(spec)}")
    if volume.info.invert_display:
        array = array.max() + array.min() - array
    return check_channels(array, spec, source)


def check_channels(array: np.ndarray, spec: InputSpec, source: str = "image") -> np.ndarray:
    """``array`` ``(channels, *spatial)`` unchanged, or ModelError when its dimensions or channels do not fit."""
    if array.ndim != spec.spatial_dims + 1:
        raise ModelError(
            f"{source}: an array of shape {tuple(array.shape)} is not (channels, {spec.spatial_dims} spatial axes); "
            f"this model takes {_dims_text(spec)}"
        )
    if array.shape[0] != spec.channels:
        raise ModelError(
            f"{source}: the image has {array.shape[0]} channel{'s' if array.shape[0] != 1 else ''}; "
            f"this model takes {_dims_text(spec)}"
        )
    if min(array.shape[1:]) < 1:
        raise ModelError(f"{source}: the image is empty (shape {tuple(array.shape)})")
    return array


def normalise_intensity(batch: np.ndarray, intensity: IntensitySpec, overwrite: bool = False) -> np.ndarray:
    """Apply the bundle's intensity normalisation to a batch ``(N, channels, *spatial)``; returns float32.

    ``minmax`` scales each image (all its channels together) to [0, 1]; a constant image becomes 0. With
    ``overwrite`` a float32 ``batch`` is normalised where it is, and returned (the same values, no copies).
    """
    values = np.asarray(batch, dtype=np.float32)
    method, parameters = intensity.method, intensity.parameters
    if method == "none":
        return values
    if not overwrite or values is not batch:
        values = values.copy()
    if method == "minmax":
        axes = tuple(range(1, values.ndim))
        low = values.min(axis=axes, keepdims=True)
        span = values.max(axis=axes, keepdims=True) - low
        values -= low
        values /= np.where(span > 0, span, np.float32(1.0))
        return values
    if method == "range":
        a_min, a_max = float(parameters["a_min"]), float(parameters["a_max"])
        values -= a_min
        values /= a_max - a_min
        return np.clip(values, 0.0, 1.0, out=values)
    if method == "zscore":
        values -= float(parameters["mean"])
        values /= float(parameters["std"])
        return values
    raise ModelError(f"unknown intensity normalisation {method!r}")


def empty_batch(count: int, spec: InputSpec) -> np.ndarray:
    """An uninitialised float32 batch ``(count, channels, *spec.spatial_size)`` for images to be resized into."""
    return np.empty((count, spec.channels, *spec.spatial_size), dtype=np.float32)


def resize_batch(batch: np.ndarray, spatial_size: Sequence[int]) -> np.ndarray:
    """Resize ``(N, channels, *spatial)`` to ``spatial_size``: area averaging when shrinking, linear otherwise."""
    size = tuple(int(n) for n in spatial_size)
    if tuple(batch.shape[2:]) == size:
        return np.asarray(batch, dtype=np.float32)
    torch = load_torch()
    tensor = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32))
    shrinking = all(new <= old for new, old in zip(size, batch.shape[2:], strict=True))
    mode = "area" if shrinking else ("bilinear" if len(size) == 2 else "trilinear")
    options = {} if mode == "area" else {"align_corners": False}
    return torch.nn.functional.interpolate(tensor, size=size, mode=mode, **options).numpy()


def prepare_batch(images: Sequence[np.ndarray], spec: InputSpec) -> np.ndarray:
    """Images ``(channels, *spatial)`` of any size as one network batch ``(N, channels, *spec.spatial_size)``: each
    resized on its own into its place in the batch, then the batch normalised where it is."""
    batch = empty_batch(len(images), spec)
    for slot, image in zip(batch, images, strict=True):
        slot[...] = resize_batch(image[np.newaxis], spec.spatial_size)[0]
    return normalise_intensity(batch, spec.intensity, overwrite=True)
