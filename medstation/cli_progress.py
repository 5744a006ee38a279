"""A progress bar on stderr for command-line work that lasts more than a second."""

from __future__ import annotations

import sys
import time
from typing import TextIO

DELAY_S = 1.0
REDRAW_S = 0.1
WIDTH = 30


class ProgressBar:
    """Callable as ``progress(fraction, message)``; draws nothing for work that ends within a second."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.started = time.monotonic()
        self._last_draw = 0.0
        self.drawn = False

    def __call__(self, fraction: float, message: str = "") -> None:
        now = time.monotonic()
        if now - self.started < DELAY_S or (now - self._last_draw < REDRAW_S and fraction < 1.0):
            return
        self._last_draw = now
        filled = round(WIDTH * fraction)
        line = f"\r[{'#' * filled}{' ' * (WIDTH - filled)}] {100 * fraction:3.0f}% {message[:60]:<60}"
        self.stream.write(line)
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        """End the bar's line so later messages start on their own line."""
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
