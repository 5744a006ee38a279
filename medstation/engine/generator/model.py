"""A class-conditional image generator loaded from a generation bundle; seeded, reproducible sampling.

Public API
----------
load_generator(name_or_dir="cxr-gan", device=None) -> Generator
    Open a generation bundle from the registry or a folder, verify and load its (EMA) generator weights.
Generator.sample(n, label=None, seed=None) -> SyntheticBatch
    ``n`` images ``[N, H, W]`` float32 in [0, 1]; ``label`` None draws classes in the training class mix.
    The same seed gives the same images.

Metadata a generation bundle adds to the common schema (see :mod:`medstation.engine.bundles.metadata`):

- ``network``: the spec of :mod:`medstation.engine.generator.network`.
- ``labels``: the class names, in class-index order.
- ``class_mix``: ``{label: fraction}`` of the training split, the mix ``label=None`` samples.
- ``input``: the image size and the intensity range that [0, 1] stands for (``range`` ``a_min``/``a_max``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medstation.engine.batches import PreparedChunk, run_batches
from medstation.engine.bundles import Bundle, find_bundle, load_into
from medstation.engine.families import FAMILIES
from medstation.engine.generator.network import ConditionalGenerator, build_generator
from medstation.engine.runtime import configure_threads, load_torch, select_device
from medstation.errors import ModelError
from medstation.progress import CancelToken, ProgressCallback

torch = load_torch()

DEFAULT_GENERATOR = FAMILIES["generator"].shipped
SAMPLING_BATCH = 256


@dataclass(frozen=True)
class SyntheticBatch:
    """Generated images ``[N, H, W]`` float32 in [0, 1], the class asked for each, the seed and the model name."""

    images: np.ndarray
    labels: list[str]
    seed: int
    model: str


@dataclass
class Generator:
    """A generation bundle with its generator network (evaluation mode) on ``device``."""

    bundle: Bundle
    network: ConditionalGenerator
    device: str

    @property
    def name(self) -> str:
        return self.bundle.name

    @property
    def labels(self) -> list[str]:
        return list(self.bundle.metadata.labels)

    @property
    def image_size(self) -> tuple[int, int]:
        height, width = self.bundle.metadata.input_spec.spatial_size
        return int(height), int(width)

    @property
    def class_mix(self) -> np.ndarray:
        """The fraction of each label in the training split, in label order."""
        mix = self.bundle.metadata.document.get("class_mix") or {}
        weights = np.array([float(mix.get(label, 0.0)) for label in self.labels])
        return weights / weights.sum() if weights.sum() > 0 else np.full(len(self.labels), 1.0 / len(self.labels))

    def class_index(self, label: str) -> int:
        """The index of ``label``; ModelError naming the labels this model knows otherwise."""
        if label not in self.labels:
            raise ModelError(f"{self.bundle.root}: no class {label!r}; this model generates {', '.join(self.labels)}")
        return self.labels.index(label)

    def sample_classes(
        self, classes: np.ndarray, seed: int, progress: ProgressCallback | None = None, cancel: CancelToken = None
    ) -> np.ndarray:
        """Images ``[N, H, W]`` float32 in [0, 1] of the given class indices, the latent vectors drawn from
        ``seed``, :data:`SAMPLING_BATCH` at a time through :func:`medstation.engine.batches.run_batches`."""
        latent_dim = int(self.bundle.metadata.document["network"]["latent_dim"])
        random = torch.Generator().manual_seed(int(seed))
        latents = torch.randn(len(classes), latent_dim, generator=random)
        wanted = torch.as_tensor(np.asarray(classes, dtype=np.int64))
        outputs: list[np.ndarray] = []
        run_batches(range(len(wanted)), _Sampling(self, latents, wanted), outputs.extend, SAMPLING_BATCH,
                    progress=progress, cancel=cancel)
        if not outputs:
            return np.zeros((0, *self.image_size), dtype=np.float32)
        return np.stack(outputs)

    def sample(
        self,
        n: int,
        label: str | None = None,
        seed: int | None = None,
        progress: ProgressCallback | None = None,
        cancel: CancelToken = None,
    ) -> SyntheticBatch:
        """``n`` synthetic images of ``label`` (None: classes drawn in the training class mix)."""
        if not isinstance(n, int) or n < 1:
            raise ModelError(f"the number of images must be a positive whole number, got {n!r}")
        seed = secrets.randbelow(2**31) if seed is None else int(seed)
        if label is None:
            classes = np.random.default_rng(seed).choice(len(self.labels), size=n, p=self.class_mix)
        else:
            classes = np.full(n, self.class_index(label))
        images = self.sample_classes(classes, seed, progress, cancel)
        return SyntheticBatch(images, [self.labels[c] for c in classes], seed, self.name)


class _Sampling:
    """Sampling as a batch task: items are sample indices, a chunk's latents and classes its input, an image
    ``[H, W]`` each result."""

    def __init__(self, generator: Generator, latents, classes):
        self.generator, self.latents, self.classes = generator, latents, classes

    def key(self, index: int) -> str:
        return str(index)

    def prepare(self, indices: range) -> PreparedChunk:
        chunk = slice(indices[0], indices[-1] + 1)
        return PreparedChunk([str(index) for index in indices], (self.latents[chunk], self.classes[chunk]))

    def run(self, payload, cancel: CancelToken = None) -> list[np.ndarray]:
        latents, classes = payload
        device = self.generator.device
        with torch.inference_mode():
            images = self.generator.network(latents.to(device), classes.to(device))
        return list(((images[:, 0] + 1.0) / 2.0).clamp(0.0, 1.0).float().cpu().numpy())


def generator_from_bundle(bundle: Bundle, device: str | None = None) -> Generator:
    """Build the bundle's generator network and load its verified weights on ``device``."""
    FAMILIES["generator"].check(bundle)
    metadata = bundle.metadata
    network_spec = metadata.document.get("network")
    if not isinstance(network_spec, dict) or len(metadata.labels) < 2:
        raise ModelError(f"{bundle.metadata_path}: 'network' or 'labels' is missing; the bundle is incomplete")
    device = device or select_device()
    configure_threads()
    network = build_generator(network_spec, metadata.input_spec.spatial_size, len(metadata.labels))
    load_into(network, bundle.load_state_dict(), bundle.weights_path, f"{network_spec} network")
    return Generator(bundle, network.float().to(device).eval(), device)


def load_generator(name_or_dir: str | Path = DEFAULT_GENERATOR, device: str | None = None) -> Generator:
    """The generator of a bundle named in the registry or at a folder path."""
    return generator_from_bundle(find_bundle(str(name_or_dir)), device)
