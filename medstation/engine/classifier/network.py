"""Classifier networks from ``monai.networks.nets``, described by a small JSON-able spec kept in the bundle.

The spec is the ``network`` field of a classifier bundle's ``metadata.json``:

- ``{"architecture": "resnet18", "widths": [64, 128, 256, 512], "stem": "3x3"}``: MONAI's ResNet with basic
  blocks ``[2, 2, 2, 2]``. The ``3x3`` stem (3x3 convolution, stride 1, no max-pool) keeps the full resolution of
  small images such as MedMNIST's 28x28; the ``7x7`` stem is the ImageNet one (7x7 stride 2 and max-pool).
- ``{"architecture": "densenet121"}``: MONAI's DenseNet121; its stem and three transitions divide the size by 32,
  so inputs need at least 32 voxels per side.

Both work in 2-D and 3-D through ``spatial_dims``. A network runs in evaluation mode in the channels-last memory
layout CPU convolutions run fastest in; predictions go through a copy with each batch normalisation folded into the
convolution before it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from medstation.engine.classifier.recipe import ARCHITECTURES, STEMS
from medstation.engine.runtime import engine_module, load_torch
from medstation.errors import ModelError
from medstation.progress import CancelToken, ProgressCallback, check_cancelled, report

torch = load_torch()
nn = engine_module("torch.nn")
nets = engine_module("monai.networks.nets")
fuse = engine_module("torch.fx.experimental.optimization").fuse

INFERENCE_BATCH = 128
"""Images per forward call at inference where the caller does not choose, and of the batch path on an accelerator."""
CPU_INFERENCE_BATCH = 32
"""Images per forward call of the batch path (``classify`` over many files) on a CPU: a smaller batch's activations
stay in the caches. On one thread, 256 Kermany radiographs took 1.84 instead of 2.84 ms of CPU per image through the
224-px model at 32 rather than 128, 1.39 instead of 1.56 through the 28-px model, with the same probabilities."""
RESNET18_WIDTHS = (64, 128, 256, 512)
_MIN_SIZE = {"densenet121": 32}


def default_network_spec(architecture: str = "resnet18", widths: Sequence[int] = RESNET18_WIDTHS,
                         stem: str = "3x3") -> dict[str, Any]:
    """The spec of :func:`build_network` for an architecture; ``stem`` for ResNet-18 (28x28-suited by default)."""
    if architecture == "resnet18":
        if stem not in STEMS:
            raise ModelError(f"unknown ResNet stem {stem!r}; choose one of {', '.join(STEMS)}")
        return {"architecture": "resnet18", "widths": [int(w) for w in widths], "stem": stem}
    if architecture == "densenet121":
        return {"architecture": "densenet121"}
    raise ModelError(f"unknown network architecture {architecture!r}; choose one of {', '.join(ARCHITECTURES)}")


def check_network_input(spec: Mapping[str, Any], spatial_size: Sequence[int]) -> None:
    """ModelError when images of ``spatial_size`` (voxels per side) are too small for the network."""
    smallest = _MIN_SIZE.get(spec.get("architecture", ""), 1)
    if min(spatial_size) < smallest:
        raise ModelError(
            f"{spec['architecture']} needs inputs of at least {smallest} voxels per side, got "
            f"{'x'.join(map(str, spatial_size))}; resize the inputs or choose resnet18"
        )


def build_network(spec: Mapping[str, Any], spatial_dims: int, channels: int, n_classes: int) -> nn.Module:
    """A freshly initialised network mapping ``(N, channels, *spatial)`` to ``(N, n_classes)`` logits.

    Parameters
    ----------
    spec
        The ``network`` field of the bundle (see the module docstring).
    spatial_dims
        2 for images, 3 for volumes.
    channels
        Input channels (1 for grey-level images).
    n_classes
        Number of output logits, one per label.
    """
    architecture = spec.get("architecture")
    if architecture == "resnet18":
        stem = spec.get("stem", "3x3")
        if stem not in STEMS:
            raise ModelError(f"unknown ResNet stem {stem!r}; choose one of {', '.join(STEMS)}")
        widths = [int(w) for w in spec.get("widths", RESNET18_WIDTHS)]
        if len(widths) != 4 or min(widths) < 1:
            raise ModelError(f"a ResNet-18 has four stage widths, got {widths}")
        small_stem = stem == "3x3"
        return nets.ResNet(
            block="basic",
            layers=[2, 2, 2, 2],
            block_inplanes=widths,
            spatial_dims=spatial_dims,
            n_input_channels=channels,
            conv1_t_size=3 if small_stem else 7,
            conv1_t_stride=1 if small_stem else 2,
            no_max_pool=small_stem,
            num_classes=n_classes,
        )
    if architecture == "densenet121":
        return nets.DenseNet121(spatial_dims=spatial_dims, in_channels=channels, out_channels=n_classes)
    raise ModelError(f"unknown network architecture {architecture!r}; choose one of {', '.join(ARCHITECTURES)}")


def inference_batch(device: str) -> int:
    """Images per forward call of the batch path on ``device`` (:data:`CPU_INFERENCE_BATCH` on a CPU)."""
    return CPU_INFERENCE_BATCH if device == "cpu" else INFERENCE_BATCH


def _channels_last(spatial_dims: int) -> torch.memory_format:
    return torch.channels_last if spatial_dims == 2 else torch.channels_last_3d


def prepare_network(network: nn.Module, spatial_dims: int, device: str) -> nn.Module:
    """The network in evaluation mode on ``device``, in the channels-last memory layout."""
    return network.to(device=device, memory_format=_channels_last(spatial_dims)).eval()


def fold_batch_norm(network: nn.Module, spatial_dims: int, device: str) -> nn.Module:
    """An inference-only copy of an evaluation-mode network with each batch normalisation folded into the
    convolution before it (``torch.fx`` ``fuse``): the same outputs to float rounding, fewer passes over memory.
    The original network is left as it is, for methods that need its layers (saliency)."""
    return prepare_network(fuse(network.eval()), spatial_dims, device)


def network_logits(network: nn.Module, batch: np.ndarray, spatial_dims: int, device: str,
                   batch_size: int = INFERENCE_BATCH, progress: ProgressCallback | None = None,
                   cancel: CancelToken = None) -> np.ndarray:
    """Logits ``(N, classes)`` float64 of a prepared batch, computed ``batch_size`` images per forward call."""
    layout = _channels_last(spatial_dims)
    outputs = []
    with torch.inference_mode():
        for start in range(0, len(batch), batch_size):
            check_cancelled(cancel)
            chunk = torch.from_numpy(np.ascontiguousarray(batch[start : start + batch_size], dtype=np.float32))
            chunk = chunk.to(device=device).contiguous(memory_format=layout)
            outputs.append(network(chunk).float().cpu().numpy())
            report(progress, min(1.0, (start + batch_size) / len(batch)), "classifying")
    if not outputs:
        return np.zeros((0, 0))
    return np.concatenate(outputs).astype(np.float64)
