"""A classifier over many image files: decoded and prepared in worker processes, run in batches, streamed out.

:class:`ClassifyTask` is the classifier's :class:`~medstation.engine.batches.BatchTask`: an item is an image file,
``prepare`` opens a chunk of files (:func:`medstation.io.open_study.open_image`), turns each into the network's
input exactly as :func:`~medstation.engine.classifier.inputs.prepare_batch` does (each image resized on its own,
then normalised) and stacks them into one tensor; ``run`` puts the tensor through the calibrated network
:data:`~medstation.engine.classifier.network.INFERENCE_BATCH` images per forward call and returns one row per image,
the result object of ``classify --json`` (``path``, ``probabilities``, ``combined`` where the model combines labels,
``prediction``). :func:`classify_files` drives it through :func:`medstation.engine.batches.run_batches`.

``prepare`` runs in ``torch.utils.data.DataLoader`` worker processes when ``workers`` > 0 (decoding is off the main
process, which runs the network on the chunk before), and the chunk's tensor is pinned when the network runs on
CUDA, so its copy to the GPU is non-blocking. A task sent to a worker carries only the input spec, never the
network. The batching changes speed, never answers: each image's probabilities equal those of the image classified
alone (within float rounding of the batched convolutions; the tests hold them to 1e-5).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from medstation.engine.batches import BatchSummary, PreparedChunk, chunk_bounds, run_batches
from medstation.engine.bundles import InputSpec
from medstation.engine.calibration import apply_temperature
from medstation.engine.classifier.inputs import normalise_intensity, resize_batch, volume_to_input
from medstation.engine.runtime import load_torch
from medstation.errors import MedStationError, reason_without_path
from medstation.progress import CancelToken, ProgressCallback, check_cancelled

if TYPE_CHECKING:
    from medstation.engine.classifier.model import Classifier

CHUNK = 256
"""Images per chunk: prepared together, written together, and the most a killed job loses."""
RESULT_COLUMNS = ("path", "prediction", "probabilities", "combined")
"""The columns of a results file (``classify --results``); ``combined`` is empty where the model combines none."""


def default_workers() -> int:
    """Worker processes that decode images: one core left to the network, at most four."""
    return max(0, min(4, (os.cpu_count() or 1) - 1))


def prepare_images(paths: Sequence[str | Path], spec: InputSpec) -> tuple[list[str], np.ndarray,
                                                                            list[tuple[str, str]]]:
    """Open ``paths`` and make the network's batch ``(N, channels, *spec.spatial_size)`` float32 of those that can be
    used: their keys (``str(path)``) in input order, the batch, and ``(key, reason)`` of the others."""
    from medstation.io.open_study import open_image

    keys, resized, skipped = [], [], []
    for path in paths:
        key = str(path)
        try:
            image = volume_to_input(open_image(path).volume, spec, key)
        except MedStationError as error:
            skipped.append((key, reason_without_path(key, str(error))))
            continue
        resized.append(resize_batch(image[np.newaxis], spec.spatial_size)[0])
        keys.append(key)
    if not resized:
        return keys, np.zeros((0, spec.channels, *spec.spatial_size), dtype=np.float32), skipped
    return keys, normalise_intensity(np.stack(resized), spec.intensity), skipped


class ClassifyTask:
    """The classifier's batch task (module docstring); picklable without its network."""

    def __init__(self, classifier: Classifier):
        self.classifier: Classifier | None = classifier
        self.spec = classifier.input_spec

    def __getstate__(self) -> dict[str, Any]:
        return {"classifier": None, "spec": self.spec}

    def key(self, item: str | Path) -> str:
        return str(item)

    def prepare(self, items: Sequence[str | Path]) -> PreparedChunk:
        """Decode and prepare a chunk; the payload is ``(keys, tensor)``, the tensor pinned by the runner for CUDA."""
        keys, batch, skipped = prepare_images(items, self.spec)
        return PreparedChunk(keys, (keys, load_torch().from_numpy(batch)), skipped)

    def logits(self, batch, cancel: CancelToken = None) -> np.ndarray:
        """Uncalibrated logits ``(N, labels)`` float64 of a prepared batch (a CPU tensor, pinned for CUDA)."""
        from medstation.engine.classifier.network import INFERENCE_BATCH

        torch = load_torch()
        classifier = self.classifier
        device = classifier.device
        layout = torch.channels_last if self.spec.spatial_dims == 2 else torch.channels_last_3d
        outputs = []
        with torch.inference_mode():
            for start in range(0, len(batch), INFERENCE_BATCH):
                check_cancelled(cancel)
                part = batch[start : start + INFERENCE_BATCH].to(device=device, non_blocking=True)
                outputs.append(classifier.inference_network(part.contiguous(memory_format=layout)).float().cpu())
        if not outputs:
            return np.zeros((0, len(classifier.labels)))
        return torch.cat(outputs).numpy().astype(np.float64)

    def run(self, payload, cancel: CancelToken = None) -> list[dict[str, Any]]:
        """One ``classify --json`` result per image of a prepared chunk."""
        keys, batch = payload
        probabilities = apply_temperature(self.logits(batch, cancel), self.classifier.temperature)
        return result_rows(self.classifier, keys, probabilities)


def result_rows(classifier: Classifier, keys: Sequence[str], probabilities: np.ndarray) -> list[dict[str, Any]]:
    """The ``classify --json`` result of each image: path, probabilities, combined (where any), prediction."""
    combined = classifier.combined(probabilities)
    return [
        {
            "path": key,
            "probabilities": dict(zip(classifier.labels, map(float, row), strict=True)),
            **({"combined": {name: float(values[index]) for name, values in combined.items()}} if combined else {}),
            "prediction": label,
        }
        for index, (key, row, label) in enumerate(zip(keys, probabilities, classifier.decide(probabilities),
                                                      strict=True))
    ]


def classify_files(
    classifier: Classifier,
    paths: Sequence[str | Path],
    sink: Callable[[list[dict[str, Any]]], None],
    chunk_size: int = CHUNK,
    done: Collection[str] = (),
    workers: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken = None,
    on_skipped: Callable[[str, str], None] | None = None,
) -> BatchSummary:
    """Classify ``paths`` chunk by chunk, handing each chunk's rows to ``sink`` (a results file, a list, a table).

    ``workers`` decode in that many processes (default :func:`default_workers`; 0 decodes in this process); no
    more are started than there are chunks to overlap with. ``done`` holds the paths a resumed job wrote already.
    """
    workers = default_workers() if workers is None else max(0, workers)
    chunks = len(chunk_bounds(len(paths), chunk_size))
    return run_batches(list(paths), ClassifyTask(classifier), sink, chunk_size, done=done,
                       workers=min(workers, max(chunks - 1, 0)), pin_memory=classifier.device.startswith("cuda"),
                       progress=progress, cancel=cancel, on_skipped=on_skipped)


def study_date(text: str, option: str = "date") -> str:
    """``YYYY-MM-DD`` (or DICOM's ``YYYYMMDD``) as ``YYYYMMDD``; MedStationError naming ``option`` otherwise."""
    import datetime

    for layout in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return datetime.datetime.strptime(text.strip(), layout).strftime("%Y%m%d")
        except ValueError:
            continue
    raise MedStationError(f"{option} {text!r}: not a date; write it as YYYY-MM-DD")


def database_images(modality: str | None = None, since: str | None = None, until: str | None = None,
                    database_path: str | Path | None = None) -> list[Path]:
    """The image files of the user's study database (or the one at ``database_path``) of ``modality``, from the
    studies dated ``since`` to ``until`` (``YYYY-MM-DD``, inclusive), sorted by path."""
    from medstation.io.database import StudyDatabase

    since = study_date(since, "--since") if since else None
    until = study_date(until, "--until") if until else None
    with StudyDatabase(database_path) as database:
        return database.image_files(modality, since, until)


def describe_query(modality: str | None = None, since: str | None = None, until: str | None = None) -> str:
    """The database query in words, for messages ("CR images of studies from 2026-01-01")."""
    what = f"{modality.upper()} images" if modality else "images"
    dates = (f" of studies from {since} to {until}" if since and until else f" of studies from {since}" if since
             else f" of studies up to {until}" if until else "")
    return what + dates
