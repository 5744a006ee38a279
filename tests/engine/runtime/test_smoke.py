"""The training check really trains, reports progress and honours cancel."""

from __future__ import annotations

import threading

import pytest

from medstation.engine.runtime.libraries import load_torch, preload_native_core
from medstation.engine.runtime.smoke import run_training_check
from medstation.errors import Cancelled


@pytest.mark.slow
def test_small_network_learns_and_reports_progress():
    fractions = []
    result = run_training_check(steps=30, progress=lambda f, m: fractions.append(f))
    assert result.learned, result
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


@pytest.mark.slow
def test_cancel_is_checked_between_steps():
    cancel = threading.Event()

    def progress(fraction: float, message: str) -> None:
        if message.startswith("training step 3/"):
            cancel.set()

    with pytest.raises(Cancelled):
        run_training_check(steps=1000, progress=progress, cancel=cancel)


def test_torch_loads_through_the_preloaded_native_core():
    import sys

    if sys.platform.startswith("linux"):
        assert preload_native_core() is True
    assert load_torch().zeros(2).sum().item() == 0
