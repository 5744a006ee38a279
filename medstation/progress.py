"""The plain progress and cancel contract every long engine or io function follows.

A long function takes ``progress: ProgressCallback | None`` and ``cancel: threading.Event | None``.
It reports ``progress(fraction, message)`` with fraction in [0, 1] and calls :func:`check_cancelled`
between steps (batches, epochs, files). The GUI and the CLI adapt these to their own displays.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from medstation.errors import Cancelled

ProgressCallback = Callable[[float, str], None]
CancelToken = threading.Event | None


def report(progress: ProgressCallback | None, fraction: float, message: str = "") -> None:
    """Call ``progress`` if given, with the fraction clamped to [0, 1]."""
    if progress is not None:
        progress(min(1.0, max(0.0, float(fraction))), message)


def check_cancelled(cancel: CancelToken) -> None:
    """Raise :class:`Cancelled` if the user asked to stop."""
    if cancel is not None and cancel.is_set():
        raise Cancelled("cancelled by the user")
