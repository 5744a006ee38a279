"""The batch runner: fixed chunks in input order, resumed items left out, progress, cancel, worker processes."""

from __future__ import annotations

import threading

import pytest

from medstation.engine.batches import PreparedChunk, chunk_bounds, run_batches
from medstation.errors import Cancelled


class Squares:
    """Items are numbers; odd multiples of 7 cannot be used; the result of n is n squared plus the chunk's size, so
    a result tells which batch it was computed in."""

    def __init__(self):
        self.prepared: list[list[int]] = []

    def key(self, item: int) -> str:
        return str(item)

    def prepare(self, items):
        self.prepared.append(list(items))
        usable = [n for n in items if not (n % 7 == 0 and n % 2)]
        skipped = [(str(n), "odd multiple of 7") for n in items if n not in usable]
        return PreparedChunk([str(n) for n in usable], (usable, len(items)), skipped)

    def run(self, payload, cancel=None):
        usable, size = payload
        return [(n, n * n + size) for n in usable]


def test_chunks_are_fixed_slices_of_the_input():
    assert chunk_bounds(7, 3) == [(0, 3), (3, 6), (6, 7)]
    assert chunk_bounds(0, 3) == []
    with pytest.raises(ValueError):
        chunk_bounds(5, 0)


def test_results_reach_the_sink_chunk_by_chunk_in_input_order():
    task, received, progress = Squares(), [], []
    skipped = []
    summary = run_batches(list(range(10)), task, received.append, 4,
                          progress=lambda f, m: progress.append(f), on_skipped=lambda k, r: skipped.append(k))
    assert received == [[(0, 4), (1, 5), (2, 8), (3, 13)], [(4, 20), (5, 29), (6, 40)], [(8, 66), (9, 83)]]
    assert skipped == ["7"] and summary.skipped == [("7", "odd multiple of 7")]
    assert (summary.items, summary.ran, summary.done_before, summary.chunks) == (10, 9, 0, 3)
    assert progress == [0.0, 0.4, 0.8, 1.0]


def test_done_items_are_neither_run_nor_handed_on_and_the_rest_keep_their_batches():
    task, received = Squares(), []
    summary = run_batches(list(range(10)), task, received.extend, 4, done={"0", "1", "2", "3", "4", "5"})
    assert task.prepared == [[4, 5, 6, 7], [8, 9]]
    assert received == [(6, 40), (8, 66), (9, 83)]
    assert (summary.ran, summary.done_before) == (3, 6)


def test_a_chunk_whose_usable_items_are_done_is_prepared_but_not_run():
    task, received = Squares(), []
    summary = run_batches([5, 6, 7], task, received.extend, 3, done={"5", "6"})
    assert received == [] and summary.chunks == 0 and summary.skipped == [("7", "odd multiple of 7")]


def test_cancel_stops_between_chunks():
    cancel = threading.Event()
    received = []

    def sink(results):
        received.append(results)
        cancel.set()

    with pytest.raises(Cancelled):
        run_batches(list(range(10)), Squares(), sink, 4, cancel=cancel)
    assert len(received) == 1


@pytest.mark.slow
def test_chunks_prepared_in_worker_processes_give_the_same_results():
    inline, workers = [], []
    run_batches(list(range(30)), Squares(), inline.extend, 4)
    run_batches(list(range(30)), Squares(), workers.extend, 4, workers=2)
    assert workers == inline
