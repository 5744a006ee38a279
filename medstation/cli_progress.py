"""A progress bar on stderr for command-line work that lasts more than a second, drawn only on a terminal.

Where stderr is a pipe or a log file the bar's ``\\r`` frames would only clutter it, and the one-line error of a
failing command would arrive after them; ``--progress`` asks for the bar there too.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

DELAY_S = 1.0
REDRAW_S = 0.1
WIDTH = 30


def is_terminal(stream: TextIO) -> bool:
    """True when ``stream`` is an open terminal."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class ProgressBar:
    """Callable as ``progress(fraction, message)``; draws nothing for work that ends within a second, nor when
    ``stream`` (stderr by default) is not a terminal, unless ``always`` (``--progress``)."""

    def __init__(self, always: bool = False, stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.shown = always or is_terminal(self.stream)
        self.started = time.monotonic()
        self._last_draw = 0.0
        self.drawn = False

    def __call__(self, fraction: float, message: str = "") -> None:
        if not self.shown:
            return
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
