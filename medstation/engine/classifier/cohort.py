"""A classifier over many image files: decoded and prepared in worker processes, run in batches, streamed out.

:class:`ClassifyTask` is the classifier's :class:`~medstation.engine.batches.BatchTask`: an item is an image file,
``prepare`` opens a chunk of files (:func:`medstation.io.open_study.open_image`), turns each into the network's
input exactly as :func:`~medstation.engine.classifier.inputs.prepare_batch` does (each image resized on its own,
then normalised) and stacks them into one tensor; ``run`` puts the tensor through the calibrated network
:func:`~medstation.engine.classifier.network.inference_batch` images per forward call and returns one row per image,
the result object of ``classify --json`` (``path``, ``probabilities``, ``combined`` where the model combines labels,
``prediction``). :func:`classify_files` drives it through :func:`medstation.engine.batches.run_batches`.

``prepare`` runs in ``torch.utils.data.DataLoader`` worker processes when ``workers`` > 0. With the network on
the CPU, each worker also runs the network on the chunks it prepared, on one thread (the payload is then the
chunk's logits and ``run`` only makes the rows): a CPU's cores are kept busier by processes that share nothing
than by one process whose threads wait on each other at every layer, most of all on a machine other work shares.
With the network on CUDA, the main process runs it on the chunk before while the workers decode, and the chunk's
tensor is pinned so its copy to the GPU is non-blocking. A task sent to a worker by pickling carries the input spec
and the bundle's folder, never the network (a forked worker has the parent's). The batching changes speed, never
answers: each image's probabilities equal those of the image classified alone (within float rounding of the batched
convolutions; the tests hold them to 1e-5).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from medstation.engine.batches import (
    BatchSummary,
    PreparedChunk,
    default_workers,
    load_in_worker,
    run_batches,
    worker_plan,
)
from medstation.engine.bundles import InputSpec
from medstation.engine.calibration import apply_temperature
from medstation.engine.classifier.inputs import empty_batch, normalise_intensity, resize_batch, volume_to_input
from medstation.engine.runtime import load_torch
from medstation.errors import MedStationError, reason_without_path
from medstation.progress import CancelToken, ProgressCallback, check_cancelled

if TYPE_CHECKING:
    from medstation.engine.classifier.model import Classifier

CHUNK = 256
"""Images per chunk: prepared together, written together, and the most a killed job loses."""
RESULT_COLUMNS = ("path", "prediction", "probabilities", "combined")
"""The columns of a results file (``classify --results``); ``combined`` is empty where the model combines none."""


def prepare_images(paths: Sequence[str | Path], spec: InputSpec) -> tuple[list[str], np.ndarray,
                                                                            list[tuple[str, str]]]:
    """Open ``paths`` and make the network's batch ``(N, channels, *spec.spatial_size)`` float32 of those that can be
    used: their keys (``str(path)``) in input order, the batch, and ``(key, reason)`` of the others. Each image is
    resized into its place in the batch as it is read, and the batch normalised where it is, as
    :func:`~medstation.engine.classifier.inputs.prepare_batch` does."""
    from medstation.io.open_study import open_image

    keys, skipped = [], []
    batch = empty_batch(len(paths), spec)
    for path in paths:
        key = str(path)
        try:
            image = volume_to_input(open_image(path).volume, spec, key)
        except MedStationError as error:
            skipped.append((key, reason_without_path(key, str(error))))
            continue
        batch[len(keys)] = resize_batch(image[np.newaxis], spec.spatial_size)[0]
        keys.append(key)
    return keys, normalise_intensity(batch[: len(keys)], spec.intensity, overwrite=True), skipped


class ClassifyTask:
    """The classifier's batch task (module docstring); picklable without its network.

    With ``network_in_prepare`` (the network on the CPU, chunks prepared in worker processes), ``prepare`` runs
    the network too, on the worker's one thread, and its payload is the chunk's logits; otherwise the payload is
    the prepared tensor and ``run`` puts it through the network. A worker started by pickling the task (not
    forked) loads the bundle itself, on the CPU.
    """

    def __init__(self, classifier: Classifier, network_in_prepare: bool = False):
        self.classifier: Classifier | None = classifier
        self.spec = classifier.input_spec
        self.bundle_root = classifier.bundle.root
        self.network_in_prepare = network_in_prepare

    def __getstate__(self) -> dict[str, Any]:
        return {"classifier": None, "spec": self.spec, "bundle_root": self.bundle_root,
                "network_in_prepare": self.network_in_prepare}

    def key(self, item: str | Path) -> str:
        return str(item)

    def _classifier(self) -> Classifier:
        if self.classifier is None:
            from medstation.engine.classifier.model import load_classifier

            self.classifier = load_in_worker(lambda: load_classifier(str(self.bundle_root), device="cpu"))
        return self.classifier

    def prepare(self, items: Sequence[str | Path]) -> PreparedChunk:
        """Decode and prepare a chunk; the payload is ``(keys, tensor)``, the tensor pinned by the runner for CUDA,
        or ``(keys, logits)`` with ``network_in_prepare``."""
        keys, batch, skipped = prepare_images(items, self.spec)
        tensor = load_torch().from_numpy(batch)
        if self.network_in_prepare:
            return PreparedChunk(keys, (keys, self.logits(tensor)), skipped)
        return PreparedChunk(keys, (keys, tensor), skipped)

    def logits(self, batch, cancel: CancelToken = None) -> np.ndarray:
        """Uncalibrated logits ``(N, labels)`` float64 of a prepared batch (a CPU tensor, pinned for CUDA)."""
        from medstation.engine.classifier.network import inference_batch

        torch = load_torch()
        classifier = self._classifier()
        device = classifier.device
        size = inference_batch(device)
        layout = torch.channels_last if self.spec.spatial_dims == 2 else torch.channels_last_3d
        outputs = []
        with torch.inference_mode():
            for start in range(0, len(batch), size):
                check_cancelled(cancel)
                part = batch[start : start + size].to(device=device, non_blocking=True)
                outputs.append(classifier.inference_network(part.contiguous(memory_format=layout)).float().cpu())
        if not outputs:
            return np.zeros((0, len(classifier.labels)))
        return torch.cat(outputs).numpy().astype(np.float64)

    def run(self, payload, cancel: CancelToken = None) -> list[dict[str, Any]]:
        """One ``classify --json`` result per image of a prepared chunk."""
        keys, values = payload
        logits = values if isinstance(values, np.ndarray) else self.logits(values, cancel)
        classifier = self._classifier()
        return result_rows(classifier, keys, apply_temperature(logits, classifier.temperature))


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
    world: int = 1,
) -> BatchSummary:
    """Classify ``paths`` chunk by chunk, handing each chunk's rows to ``sink`` (a results file, a list, a table).

    ``workers`` processes prepare the chunks (default :func:`~medstation.engine.batches.default_workers` for the
    ``world`` torchrun workers on this machine; 0 prepares them in this process).
    With the network on the CPU and more than one chunk, each worker also runs the network on its chunks on one
    thread (processes that share nothing keep the cores busy where one process's threads wait on each other);
    otherwise this process runs the network while the workers decode, and no more are started than there are
    chunks to overlap with. ``done`` holds the paths a resumed job wrote already.
    """
    on_cpu = classifier.device == "cpu"
    workers = default_workers(on_cpu, world) if workers is None else max(0, workers)
    in_workers, workers = worker_plan(len(paths), chunk_size, workers, on_cpu)
    return run_batches(list(paths), ClassifyTask(classifier, network_in_prepare=in_workers), sink, chunk_size,
                       done=done, workers=workers, pin_memory=classifier.device.startswith("cuda"),
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
