"""Small two-class (normal, pneumonia) grey image sets in the MedMNIST ``.npz`` layout, for generator tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

LABELS = ("normal", "pneumonia")


def two_class_images(count: int, size: int = 28, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(images (N, size, size) uint8, classes (N,))``: class 0 dark discs, class 1 bright discs, with noise."""
    random = np.random.default_rng(seed)
    classes = np.arange(count) % 2
    rows, columns = np.mgrid[:size, :size]
    images = np.empty((count, size, size), dtype=np.uint8)
    for index, value in enumerate(classes):
        centre = random.uniform(0.35, 0.65, 2) * size
        disc = (rows - centre[0]) ** 2 + (columns - centre[1]) ** 2 < (0.3 * size) ** 2
        level = 200 if value else 60
        images[index] = np.clip(disc * level + random.normal(20, 10, (size, size)), 0, 255).astype(np.uint8)
    return images, classes


def write_npz(path: Path, train: int = 64, test: int = 24, size: int = 28) -> Path:
    """A MedMNIST-layout archive with ``train``, ``val`` and ``test`` splits of :func:`two_class_images`."""
    arrays = {}
    for split, count, seed in (("train", train, 0), ("val", test, 1), ("test", test, 2)):
        images, classes = two_class_images(count, size, seed)
        arrays[f"{split}_images"], arrays[f"{split}_labels"] = images, classes[:, np.newaxis]
    np.savez(path, **arrays)
    return path
