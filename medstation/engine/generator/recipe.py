"""The generator's training recipe: every setting besides the data, its defaults the shipped model's.

Fields declared with :func:`~medstation.engine.recipes.setting` are the ones ``medstation train generator`` offers
as options; see :mod:`medstation.engine.generator.training` for how each is used.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from medstation.engine.recipes import setting

ARCHITECTURE = "dcgan-projection"
"""The network the recipe trains (:mod:`medstation.engine.generator.network`)."""


@dataclass(frozen=True)
class GeneratorRecipe:
    """Everything that decides the trained generator besides the data. Defaults: the shipped model's recipe."""

    epochs: int = setting(16, "epochs to train")
    batch_size: int = setting(64, "images per optimiser step")
    latent_dim: int = setting(64, "length of the latent vector")
    width: int = setting(16, "channels of the widest-resolution layer")
    learning_rate_generator: float = 2e-4
    learning_rate_discriminator: float = 2e-4
    betas: tuple[float, float] = (0.0, 0.9)
    ema_decay: float = 0.999
    seed: int = setting(0, "random seed")
    spatial_size: tuple[int, int] | None = setting(
        None, "resize images to NxN voxels (default: as stored)", flag="size", metavar="N"
    )

    def network_spec(self) -> dict[str, Any]:
        """The ``network`` field of the bundle: the spec :mod:`medstation.engine.generator.network` builds."""
        return {"architecture": ARCHITECTURE, "latent_dim": self.latent_dim, "width": self.width}

    def as_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["betas"] = list(self.betas)
        values["spatial_size"] = list(self.spatial_size) if self.spatial_size else None
        return values
