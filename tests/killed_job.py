"""A `medstation` command run in a child process that is killed (SIGKILL) halfway through a results write."""

from __future__ import annotations

import subprocess
import sys

_SCRIPT = """
import os, signal, sys
from medstation.io import batch_results as results

written = []
append = results.ResultsWriter._append


def append_then_die(self, data):
    written.append(data)
    if len(written) == int(sys.argv[1]):
        self._file.write(data[: len(data) // 2])
        self._file.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    append(self, data)


results.ResultsWriter._append = append_then_die
from medstation.cli import main

sys.exit(main(sys.argv[2:]))
"""


def run_killed_at_write(write: int, argv: list[str], timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ``medstation argv``; its results writer's ``write``-th write is cut in the middle, then it is killed."""
    return subprocess.run([sys.executable, "-c", _SCRIPT, str(write), *argv], timeout=timeout)
