"""An exponential moving average (EMA) of a network's weights, as the classifier and the generator train it.

After every optimiser step each parameter of the average moves a share ``1 - decay`` of the way to the trained
network's, and the buffers (batch-normalisation statistics) are copied as they are. The generator warms its decay up
(:func:`average_decay`) so that a short run's average is not dominated by the random initial weights; the classifier
uses its recipe's decay from the first step.

Written out rather than with ``torch.optim.swa_utils.AveragedModel``: that wrapper replaces the average by the
network on its first update instead of averaging from the initial weights, and holds the network as ``module``
beside an ``n_averaged`` counter, which would change both the trained weights and the names in the checkpoints and
bundles that hold them.
"""

from __future__ import annotations

from medstation.engine.runtime import engine_module, load_torch

torch = load_torch()
nn = engine_module("torch.nn")


def update_average(average: nn.Module, network: nn.Module, decay: float) -> None:
    """Move ``average``'s parameters towards ``network``'s by ``1 - decay``; copy ``network``'s buffers."""
    with torch.no_grad():
        for kept, current in zip(average.parameters(), network.parameters(), strict=True):
            kept.lerp_(current, 1.0 - decay)
        for kept, current in zip(average.buffers(), network.buffers(), strict=True):
            kept.copy_(current)


def average_decay(ema_decay: float, step: int) -> float:
    """The warmed-up decay at optimiser step ``step`` (from 0): ``(1 + step) / (10 + step)`` capped at
    ``ema_decay``, so the average forgets the random initial weights within the first few hundred steps."""
    return min(ema_decay, (1.0 + step) / (10.0 + step))
