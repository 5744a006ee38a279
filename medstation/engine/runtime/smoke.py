"""A short real training run that proves the torch stack can learn on the selected device.

Used by ``medstation self-test``, by Tools > Verify compute engine, and as the reference engine job for
measuring how much a job disturbs the GUI thread. The task is deliberately trivial (tell images with a
bright square from images without one) so that a working stack always learns it in a few dozen steps.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

from medstation.engine.runtime.libraries import load_optimisers
from medstation.progress import CancelToken, ProgressCallback, check_cancelled, report


@dataclass(frozen=True)
class TrainingCheck:
    """Outcome of :func:`run_training_check`."""

    device: str
    steps: int
    first_loss: float
    last_loss: float
    accuracy: float
    seconds: float

    @property
    def learned(self) -> bool:
        """True when the loss fell by half and held-out accuracy is at least 0.9."""
        return self.last_loss < 0.5 * self.first_loss and self.accuracy >= 0.9

    def as_dict(self) -> dict:
        return {**asdict(self), "learned": self.learned}


def _batch(torch, generator, size: int, device: str):
    """Images 1x32x32 of noise; label 1 ones carry a bright 8x8 square at a random place."""
    images = torch.rand(size, 1, 32, 32, generator=generator) * 0.5
    labels = torch.randint(0, 2, (size,), generator=generator)
    corners = torch.randint(0, 24, (size, 2), generator=generator)
    for index in torch.nonzero(labels).flatten().tolist():
        row, col = corners[index].tolist()
        images[index, 0, row : row + 8, col : col + 8] += 1.0
    return images.to(device), labels.to(device)


def run_training_check(
    steps: int = 40,
    device: str | None = None,
    seed: int = 0,
    progress: ProgressCallback | None = None,
    cancel: CancelToken = None,
) -> TrainingCheck:
    """Train a small CNN for ``steps`` steps and measure it on a fresh batch."""
    started = time.perf_counter()
    report(progress, 0.0, "loading the compute engine")
    from medstation.engine.runtime.device import configure_threads, select_device

    torch = load_optimisers()
    nn = torch.nn
    check_cancelled(cancel)
    device = device or select_device()
    configure_threads()
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveMaxPool2d(1),
        nn.Flatten(),
        nn.Linear(16, 2),
    ).to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    losses = []
    for step in range(steps):
        check_cancelled(cancel)
        images, labels = _batch(torch, generator, 32, device)
        optimiser.zero_grad()
        loss = loss_fn(model(images), labels)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
        report(progress, 0.1 + 0.85 * (step + 1) / steps, f"training step {step + 1}/{steps}")
    images, labels = _batch(torch, generator, 256, device)
    with torch.inference_mode():
        accuracy = float((model(images).argmax(1) == labels).float().mean())
    report(progress, 1.0, "done")
    head = max(1, steps // 5)
    return TrainingCheck(
        device=device,
        steps=steps,
        first_loss=sum(losses[:head]) / head,
        last_loss=sum(losses[-head:]) / head,
        accuracy=accuracy,
        seconds=time.perf_counter() - started,
    )
