"""One way to run a model over many inputs: fixed chunks in input order, each prepared, run and handed on as soon as it
is done, with progress after every chunk and cancel between chunks; what a resumed job already has is left out.

A family describes its work as a :class:`BatchTask`: ``key`` names an item (what a results file and a resumed job
match on), ``prepare`` turns a chunk of items into the network's input (reading, decoding, features; it may run in
a worker process) and says which items it could not use, and ``run`` puts a prepared chunk through the network and
returns one result per usable item. :func:`run_batches` drives it:

- Chunk ``i`` is always ``items[i * chunk_size : (i + 1) * chunk_size]``, whatever was done before, and a chunk with
  anything left to do is prepared and run whole: every result is computed in the same batch as in an uninterrupted
  run, so a resumed job writes the same numbers, bit for bit, not numbers that differ in the last digits because
  the batches were cut elsewhere. A chunk whose items are all in ``done`` is passed over without being prepared.
- ``sink(results)`` receives each chunk's results that are not in ``done``, in input order, before the next chunk
  starts; a :class:`medstation.io.batch_results.ResultsWriter` writes them to a file, a list collects them in memory.
- With ``workers`` > 0, chunks are prepared ahead in that many worker processes by a
  ``torch.utils.data.DataLoader`` (its ``pin_memory`` when the network runs on CUDA, so copies to the GPU can be
  non-blocking), while the main process runs the network on the chunk before; with 0 they are prepared in turn.

The forecaster's ``forecast`` runs through it (:mod:`medstation.engine.forecaster.cohort`), as the generator's
batch sampling does (:meth:`medstation.engine.generator.model.Generator.sample_classes`); a classifier's task is
image paths as items, decoding and input preparation as ``prepare``, its calibrated network as ``run``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from medstation.progress import CancelToken, ProgressCallback, check_cancelled, report

Item = TypeVar("Item")
Payload = TypeVar("Payload")
Result = TypeVar("Result")
Model = TypeVar("Model")


@dataclass
class PreparedChunk(Generic[Payload]):
    """What ``prepare`` made of a chunk: the keys of the usable items in input order, the network's input for them
    (``payload``), and ``(key, reason)`` for each item it could not use."""

    keys: list[str]
    payload: Payload
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def pin_memory(self) -> PreparedChunk[Payload]:
        """The chunk with the tensors of its payload in page-locked memory (what the DataLoader's ``pin_memory``
        calls), so their copies to a CUDA device can be non-blocking."""
        from medstation.engine.runtime import engine_module

        pin = engine_module("torch.utils.data._utils.pin_memory").pin_memory
        return PreparedChunk(self.keys, pin(self.payload), self.skipped)


class BatchTask(Protocol[Item, Payload, Result]):
    """A model's work on many items, in chunks (see the module docstring)."""

    def key(self, item: Item) -> str:
        """The item's unique name (a record ID, a file path)."""

    def prepare(self, items: Sequence[Item]) -> PreparedChunk[Payload]:
        """The network's input for a chunk of items; picklable when prepared in worker processes."""

    def run(self, payload: Payload, cancel: CancelToken = None) -> list[Result]:
        """One result per usable item of the prepared chunk, in its order."""


@dataclass
class BatchSummary:
    """What a run did: items in the input, items done before it (passed over), items run now, chunks run, and
    ``(key, reason)`` of every item that could not be used (those of passed-over chunks are not known)."""

    items: int
    done_before: int = 0
    ran: int = 0
    chunks: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)


def default_workers(network_on_cpu: bool = True, world: int = 1) -> int:
    """Worker processes for a batch job: with the network on the CPU, one per core this process may use (the cores
    shared by ``world`` torchrun workers on the machine), at most eight, each preparing its chunks and running the
    network on them on one thread, none on a single core; with the network on a GPU, those that prepare, one core
    left to this process, at most four."""
    cores = (os.cpu_count() or 1) // max(world, 1)
    if network_on_cpu:
        return min(8, cores) if cores > 1 or world > 1 else 0
    return max(0, min(4, cores - 1))


def worker_plan(count: int, chunk_size: int, workers: int, network_on_cpu: bool) -> tuple[bool, int]:
    """Whether the workers run the network too, and how many to start, for ``count`` items: with the network on the
    CPU and more than one chunk, each worker prepares and runs its chunks (no more workers than chunks); otherwise
    this process runs the network while workers prepare the chunks after the first (no more than those)."""
    chunks = len(chunk_bounds(count, chunk_size))
    workers = max(0, workers)
    in_workers = network_on_cpu and workers > 0 and chunks > 1
    return in_workers, min(workers, chunks) if in_workers else min(workers, max(chunks - 1, 0))


def load_in_worker(load: Callable[[], Model]) -> Model:
    """``load()`` (a model, in a worker process that was not forked), keeping the worker's thread count (one, as
    the DataLoader sets it) where loading the engine would set its own."""
    from medstation.engine.runtime import load_torch

    torch = load_torch()
    threads = torch.get_num_threads()
    try:
        return load()
    finally:
        torch.set_num_threads(threads)


def chunk_bounds(count: int, chunk_size: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of each chunk of ``count`` items in input order."""
    if chunk_size < 1:
        raise ValueError(f"chunk size must be at least 1, not {chunk_size}")
    return [(start, min(start + chunk_size, count)) for start in range(0, count, chunk_size)]


class _ChunkDataset:
    """The chunks to prepare, as a map-style data set: item ``i`` is the prepared ``i``-th chunk left to run."""

    def __init__(self, task: BatchTask, items: Sequence, bounds: list[tuple[int, int]]):
        self.task, self.items, self.bounds = task, items, bounds

    def __len__(self) -> int:
        return len(self.bounds)

    def __getitem__(self, index: int) -> PreparedChunk:
        start, stop = self.bounds[index]
        return self.task.prepare(self.items[start:stop])


def _keep_chunk(prepared: PreparedChunk) -> PreparedChunk:
    return prepared


def _prepared_chunks(
    task: BatchTask, items: Sequence, bounds: list[tuple[int, int]], workers: int, pin_memory: bool
) -> Iterator[PreparedChunk]:
    dataset = _ChunkDataset(task, items, bounds)
    if workers <= 0:
        return (dataset[index] for index in range(len(dataset)))
    from medstation.engine.runtime import engine_module

    data = engine_module("torch.utils.data")
    return iter(data.DataLoader(dataset, batch_size=None, shuffle=False, num_workers=workers,
                                collate_fn=_keep_chunk, pin_memory=pin_memory, prefetch_factor=2))


def run_batches(
    items: Sequence[Item],
    task: BatchTask[Item, Payload, Result],
    sink: Callable[[list[Result]], None],
    chunk_size: int,
    done: Collection[str] = (),
    workers: int = 0,
    pin_memory: bool = False,
    progress: ProgressCallback | None = None,
    cancel: CancelToken = None,
    on_skipped: Callable[[str, str], None] | None = None,
) -> BatchSummary:
    """Run ``task`` over ``items`` chunk by chunk, handing each chunk's new results to ``sink`` (module docstring).

    ``done`` holds the keys already done (a resumed job's): they are neither run again nor handed on, and a chunk
    made only of them is passed over. ``on_skipped(key, reason)`` is called for each item ``prepare`` could not
    use. Cancel is checked before every chunk and passed to ``task.run``.
    """
    done = set(done)
    keys = [task.key(item) for item in items]
    summary = BatchSummary(len(items))
    bounds = []
    for start, stop in chunk_bounds(len(items), chunk_size):
        left = sum(key not in done for key in keys[start:stop])
        summary.done_before += (stop - start) - left
        if left:
            bounds.append((start, stop))
    finished = summary.done_before
    report(progress, finished / max(len(items), 1), f"{finished} of {len(items)} done")
    check_cancelled(cancel)
    chunks = _prepared_chunks(task, items, bounds, workers, pin_memory)
    for (start, stop), prepared in zip(bounds, chunks, strict=True):
        check_cancelled(cancel)
        for key, reason in prepared.skipped:
            summary.skipped.append((key, reason))
            if on_skipped is not None:
                on_skipped(key, reason)
        if any(key not in done for key in prepared.keys):
            results = task.run(prepared.payload, cancel)
            if len(results) != len(prepared.keys):
                raise RuntimeError(f"{type(task).__name__}.run gave {len(results)} results for "
                                   f"{len(prepared.keys)} items")
            new = [result for key, result in zip(prepared.keys, results, strict=True) if key not in done]
            sink(new)
            summary.ran += len(new)
            summary.chunks += 1
        finished += sum(key not in done for key in keys[start:stop])
        report(progress, finished / max(len(items), 1), f"{finished} of {len(items)} done")
    return summary


def shard(items: Sequence[Item], keys: Sequence[str], chunk_size: int, done: Collection[str], rank: int,
          world: int) -> list[Item]:
    """This worker's items of a job sharded across ``world`` workers: the chunks with anything left to do (chunk
    ``i`` is always ``items[i * chunk_size : (i + 1) * chunk_size]``) dealt out in turn, rank ``r`` taking the
    ``r``-th, the ``r + world``-th and so on, joined in input order. Only the last chunk of the input can be short,
    so :func:`run_batches` cuts the joined items into the same chunks again, and every result is computed in the
    same batch as in one process. Every worker must be given the same ``done``."""
    done = set(done)
    left = [(start, stop) for start, stop in chunk_bounds(len(items), chunk_size)
            if any(key not in done for key in keys[start:stop])]
    return [item for start, stop in left[rank::world] for item in items[start:stop]]


def run_sharded(
    items: Sequence[Item],
    keys: Sequence[str],
    chunk_size: int,
    open_results: Callable[[bool], Any],
    run: Callable[[Sequence[Item], Callable[[list], None], Collection[str]], BatchSummary],
    workers: Any,
) -> tuple[BatchSummary, Any]:
    """A batch job over ``items`` shared by the torchrun workers (:class:`medstation.engine.runtime.Workers`; one
    process alone is a single worker), each running its :func:`shard` and writing its chunks, rank 0 putting the
    results file together.

    ``open_results(create)`` opens the job's results (a :class:`medstation.io.batch_results.ChunkedResults`; rank
    0 with ``create`` True makes or checks it before the others join it), and ``run(my_items, sink, done)`` runs
    :func:`run_batches` over this worker's items. Every worker reads what is done before any writes, so all deal
    the same chunks. Returns the whole job's summary (items run now and skipped summed over the workers, skipped
    items in input order) and the results, which rank 0 has finished.
    """
    from medstation.engine.runtime import barrier, gather_objects

    results = open_results(True) if workers.leader else None
    barrier(workers)
    if results is None:
        results = open_results(False)
    done = set(results.done)
    barrier(workers)
    mine = shard(items, keys, chunk_size, done, workers.rank, workers.world)
    summary = run(mine, results.write, done)
    barrier(workers)
    parts = gather_objects((summary.ran, summary.chunks, summary.skipped), workers)
    place = {key: index for index, key in enumerate(keys)}
    skipped = sorted((item for part in parts for item in part[2]), key=lambda item: place.get(item[0], len(place)))
    total = BatchSummary(len(items), done_before=sum(key in done for key in keys),
                         ran=sum(part[0] for part in parts), chunks=sum(part[1] for part in parts), skipped=skipped)
    if workers.leader:
        results.finish()
    return total, results
