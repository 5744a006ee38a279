"""Logging to a rotating file in the user data folder, with patient identity kept out of it.

Code that learns a patient's name or ID calls :func:`register_identifiers`; from then on any log
record containing one of them is written with ``[redacted]`` in its place. Log messages should refer
to studies by UID or by position, never by name; the filter is the safety net.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import threading
from pathlib import Path

from medstation.paths import log_dir

LOG_FILE_NAME = "medstation.log"
MAX_BYTES = 2_000_000
BACKUPS = 5
_FORMAT = "%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"


class IdentityRedactor(logging.Filter):
    """Replaces registered patient names and IDs in every record with ``[redacted]``."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()

    def register(self, *values: str) -> None:
        with self._lock:
            for value in values:
                text = str(value or "").strip()
                if len(text) >= 2:
                    self._secrets.add(text)
                    self._secrets.update(part for part in re.split(r"[\s^,]+", text) if len(part) >= 3)
            alternatives = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(map(re.escape, alternatives)), re.IGNORECASE)

    def redact(self, text: str) -> str:
        """``text`` with every registered name or ID, in any letter case, replaced by ``[redacted]``."""
        pattern = self._pattern
        return pattern.sub("[redacted]", text) if pattern is not None else text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = self.redact(message), None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


redactor = IdentityRedactor()


def register_identifiers(*values: str) -> None:
    """Keep these patient names / IDs out of the log from now on."""
    redactor.register(*values)


def setup_logging(level: int = logging.INFO) -> Path:
    """Attach the rotating file handler to the ``medstation`` logger once; returns the log file path."""
    logger = logging.getLogger("medstation")
    path = log_dir() / LOG_FILE_NAME
    for handler in logger.handlers:
        if isinstance(handler, logging.handlers.RotatingFileHandler) and Path(handler.baseFilename) == path:
            return path
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8")
    handler.setFormatter(logging.Formatter(_FORMAT))
    handler.addFilter(redactor)
    logger.addHandler(handler)
    logger.setLevel(level)
    return path
