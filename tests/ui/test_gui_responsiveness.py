"""A real engine job (torch's first import included) never blocks the GUI thread for long."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "gui_stall.py"


def test_event_loop_keeps_answering_during_a_training_job():
    result = subprocess.run([sys.executable, str(BENCHMARK), "--json"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    for phase in ("cold", "warm"):
        assert report[phase]["ticks"] > 20, report
        assert report[phase]["max_gap_ms"] < 500, report
