"""A `medstation` command run in a child process that is killed (SIGKILL) halfway through a results write."""

from __future__ import annotations

import subprocess
import sys


def dying_writers(write: int, rank: int | None = None) -> str:
    """Python source that makes the results writers of the process (of the torchrun worker of ``rank``, when
    given) cut their ``write``-th write in the middle and kill the process: a :class:`ResultsWriter` leaves half
    a chunk's bytes at the end of ``OUT.partial``, a :class:`ChunkedResults` half a chunk file under its temporary
    name. Run as a ``sitecustomize`` module, it does so in every process started with it on ``PYTHONPATH``."""
    return f"""
import os, signal
if {rank!r} is None or os.environ.get("RANK") == str({rank!r}):
    from medstation.io import batch_results as results

    written = []
    append, store = results.ResultsWriter._append, results.ChunkedResults._store

    def append_then_die(self, data):
        written.append(data)
        if len(written) == {write}:
            self._file.write(data[: len(data) // 2])
            self._file.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        append(self, data)

    def store_then_die(self, target, data):
        written.append(data)
        if len(written) == {write}:
            target.with_name(f".{{target.name}}.killed.partial.jsonl").write_bytes(data[: len(data) // 2])
            os.kill(os.getpid(), signal.SIGKILL)
        store(self, target, data)

    results.ResultsWriter._append = append_then_die
    results.ChunkedResults._store = store_then_die
"""


def run_killed_at_write(write: int, argv: list[str], timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ``medstation argv``; its results writer's ``write``-th write is cut in the middle, then it is killed."""
    script = dying_writers(write) + "\nimport sys\nfrom medstation.cli import main\n\nsys.exit(main(sys.argv[1:]))\n"
    return subprocess.run([sys.executable, "-c", script, *argv], timeout=timeout)
