"""The networks of the class-conditional GAN, described by a small JSON-able spec kept in the bundle.

The ``network`` field of a generation bundle's ``metadata.json``::

    {"architecture": "dcgan-projection", "latent_dim": 64, "width": 16}

Generator: the latent vector is projected to ``4 * width`` feature maps at the start size, then each up-block
doubles the size (nearest-neighbour upsampling and a 3x3 convolution), halving the channels down to ``width``;
every normalisation is a class-conditional batch normalisation (a per-class gain and bias), so the requested class
shapes every layer. The output is ``tanh`` in [-1, 1]. Discriminator: the mirror image with strided
convolutions, every layer spectrally normalised, a sum over positions, and a projection of the class embedding
(Miyato and Koyama 2018) added to the real/fake score. The start size is the image size halved until it is odd
or 4: 28x28 starts at 7x7 (two up-blocks), 64x64 at 4x4 (four up-blocks).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from medstation.engine.generator.recipe import ARCHITECTURE
from medstation.engine.runtime import engine_module, load_torch
from medstation.errors import ModelError

torch = load_torch()
nn = engine_module("torch.nn")
spectral_norm = nn.utils.parametrizations.spectral_norm


def upsampling_steps(image_size: Sequence[int]) -> int:
    """How many times the start size doubles to reach ``image_size`` (square, at least 8 voxels a side)."""
    height, width = (int(n) for n in image_size)
    if height != width or height < 8:
        raise ModelError(f"the generator makes square images of at least 8x8, got {height}x{width}")
    steps, size = 0, height
    while size % 2 == 0 and size > 4:
        size //= 2
        steps += 1
    if steps == 0:
        raise ModelError(f"the generator needs an image size divisible by 2 (such as 28 or 64), got {height}")
    return steps


def check_spec(spec: Mapping[str, Any]) -> tuple[int, int]:
    """``(latent_dim, width)`` of a network spec; ModelError when it is not one this module builds."""
    if spec.get("architecture") != ARCHITECTURE:
        raise ModelError(f"unknown generator architecture {spec.get('architecture')!r}; expected {ARCHITECTURE!r}")
    latent_dim, width = spec.get("latent_dim"), spec.get("width")
    if not all(isinstance(n, int) and n > 0 for n in (latent_dim, width)):
        raise ModelError(f"the generator spec needs positive integers latent_dim and width, got {dict(spec)}")
    return latent_dim, width


class ConditionalBatchNorm(nn.Module):
    """Batch normalisation whose gain and bias are looked up per class."""

    def __init__(self, channels: int, n_classes: int):
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.gain = nn.Embedding(n_classes, channels)
        self.bias = nn.Embedding(n_classes, channels)
        nn.init.ones_(self.gain.weight)
        nn.init.zeros_(self.bias.weight)

    def forward(self, x: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
        shape = (-1, x.shape[1], 1, 1)
        return self.norm(x) * self.gain(classes).view(shape) + self.bias(classes).view(shape)


class UpBlock(nn.Module):
    """Conditional normalisation, ReLU, 2x nearest upsampling, 3x3 convolution."""

    def __init__(self, channels_in: int, channels_out: int, n_classes: int):
        super().__init__()
        self.norm = ConditionalBatchNorm(channels_in, n_classes)
        self.conv = nn.Conv2d(channels_in, channels_out, 3, padding=1)

    def forward(self, x: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.norm(x, classes))
        return self.conv(nn.functional.interpolate(x, scale_factor=2, mode="nearest"))


class ConditionalGenerator(nn.Module):
    """``(z [N, latent_dim], classes [N])`` to images ``[N, 1, H, W]`` in [-1, 1]."""

    def __init__(self, latent_dim: int, width: int, n_classes: int, steps: int, start: int):
        super().__init__()
        self.latent_dim, self.start = latent_dim, start
        channels = [max(width, 4 * width // 2**i) for i in range(steps + 1)]
        self.project = nn.Linear(latent_dim, channels[0] * start * start)
        self.blocks = nn.ModuleList(UpBlock(channels[i], channels[i + 1], n_classes) for i in range(steps))
        self.out_norm = ConditionalBatchNorm(channels[-1], n_classes)
        self.out_conv = nn.Conv2d(channels[-1], 1, 3, padding=1)

    def forward(self, z: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
        x = self.project(z).view(len(z), -1, self.start, self.start)
        for block in self.blocks:
            x = block(x, classes)
        return torch.tanh(self.out_conv(torch.relu(self.out_norm(x, classes))))


class ProjectionDiscriminator(nn.Module):
    """``(images [N, 1, H, W] in [-1, 1], classes [N])`` to a real/fake score ``[N]``."""

    def __init__(self, width: int, n_classes: int, steps: int):
        super().__init__()
        layers = [spectral_norm(nn.Conv2d(1, width, 3, padding=1)), nn.LeakyReLU(0.1)]
        channels = width
        for i in range(steps):
            wider = min(4 * width, width * 2 ** (i + 1))
            layers += [
                spectral_norm(nn.Conv2d(channels, wider, 4, stride=2, padding=1)), nn.LeakyReLU(0.1),
                spectral_norm(nn.Conv2d(wider, wider, 3, padding=1)), nn.LeakyReLU(0.1),
            ]
            channels = wider
        self.features = nn.Sequential(*layers)
        self.score = spectral_norm(nn.Linear(channels, 1))
        self.embed = spectral_norm(nn.Embedding(n_classes, channels))

    def forward(self, images: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
        h = self.features(images).sum(dim=(2, 3))
        return self.score(h).squeeze(1) + (self.embed(classes) * h).sum(dim=1)


def build_generator(spec: Mapping[str, Any], image_size: Sequence[int], n_classes: int) -> ConditionalGenerator:
    """A freshly initialised generator network for square images of ``image_size`` voxels."""
    latent_dim, width = check_spec(spec)
    steps = upsampling_steps(image_size)
    return ConditionalGenerator(latent_dim, width, n_classes, steps, int(image_size[0]) // 2**steps)


def build_discriminator(spec: Mapping[str, Any], image_size: Sequence[int], n_classes: int) -> ProjectionDiscriminator:
    """A freshly initialised projection discriminator matching :func:`build_generator`."""
    _, width = check_spec(spec)
    return ProjectionDiscriminator(width, n_classes, upsampling_steps(image_size))
