"""The batch runner: fixed chunks in input order, resumed items left out, progress, cancel, worker processes; a job's
chunks shared by torchrun workers."""

from __future__ import annotations

import threading

import pytest

from medstation.engine.batches import PreparedChunk, chunk_bounds, default_workers, run_batches, run_sharded, shard
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


def test_workers_share_the_chunks_left_and_compute_each_result_in_its_single_process_batch():
    items, keys = list(range(10)), [str(n) for n in range(10)]
    done = {"0", "1", "2", "3"}  # chunk (0, 1, 2) is done, chunk (3, 4, 5) is not
    mine = [shard(items, keys, 3, done, rank, 2) for rank in (0, 1)]
    assert mine == [[3, 4, 5, 9], [6, 7, 8]]
    single, shared = [], []
    run_batches(items, Squares(), single.extend, 3, done=done)
    for part in mine:
        run_batches(part, Squares(), shared.extend, 3, done=done)
    assert sorted(shared) == sorted(single) and (9, 82) in shared  # 9 alone in the input's last, short chunk
    assert shard(items, keys, 3, set(keys), 0, 1) == []


def test_a_sharded_job_in_one_process_writes_the_results_file_in_input_order(tmp_path):
    from medstation.engine.runtime import SINGLE
    from medstation.io.batch_results import ChunkedResults

    items, keys = list(range(10)), [str(n) for n in range(10)]
    out = tmp_path / "squares.jsonl"

    def open_out(create):
        return ChunkedResults(out, "n", ("n", "square"), {"task": "squares"}, keys, resume=True, create=create)

    def run(part, sink, done):
        return run_batches(part, Squares(), lambda rows: sink([{"n": str(n), "square": v} for n, v in rows]), 4,
                           done=done)

    summary, results = run_sharded(items, keys, 4, open_out, run, SINGLE)
    assert results.complete and (summary.items, summary.ran, summary.done_before) == (10, 9, 0)
    assert summary.skipped == [("7", "odd multiple of 7")]
    assert [line.split(",")[0] for line in out.read_text().splitlines()] == [
        f'{{"n":"{n}"' for n in keys if n != "7"]


def test_default_workers_share_the_cores_among_torchrun_workers(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 16)
    assert [default_workers(world=w) for w in (1, 2, 4, 16, 32)] == [8, 8, 4, 1, 0]
    assert default_workers(network_on_cpu=False) == 4 and default_workers(False, world=8) == 1
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert [default_workers(world=w) for w in (1, 2)] == [2, 1]
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    assert default_workers() == 0


def test_the_workers_on_this_machine_are_torchrun_s_local_world(monkeypatch):
    from medstation.engine.runtime.distributed import SINGLE, Workers

    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    assert SINGLE.on_this_machine == 1, "outside torchrun the process has the machine"
    assert Workers(3, 4, "cpu", grouped=True).on_this_machine == 2
    monkeypatch.delenv("LOCAL_WORLD_SIZE")
    assert Workers(1, 4, "cpu", grouped=True).on_this_machine == 4


def test_the_workers_run_the_network_only_on_the_cpu_and_with_more_than_one_chunk():
    from medstation.engine.batches import worker_plan

    assert worker_plan(1000, 256, 2, network_on_cpu=True) == (True, 2)
    assert worker_plan(1000, 256, 8, network_on_cpu=True) == (True, 4), "no more workers than chunks"
    assert worker_plan(100, 256, 2, network_on_cpu=True) == (False, 0), "one chunk: all in this process"
    assert worker_plan(1000, 256, 8, network_on_cpu=False) == (False, 3), "a GPU: workers prepare the later chunks"
    assert worker_plan(1000, 256, -1, network_on_cpu=True) == (False, 0)
