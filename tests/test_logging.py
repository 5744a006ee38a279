"""The rotating log file lives in the user data folder and never holds patient names or IDs."""

from __future__ import annotations

import logging
import logging.handlers

from medstation.logs import register_identifiers, setup_logging
from medstation.paths import user_data_dir


def _flush() -> None:
    for handler in logging.getLogger("medstation").handlers:
        handler.flush()


def test_log_file_rotates_in_the_user_data_folder():
    path = setup_logging()
    assert path.parent.parent == user_data_dir()
    assert setup_logging() == path
    handlers = [
        h for h in logging.getLogger("medstation").handlers if isinstance(h, logging.handlers.RotatingFileHandler)
    ]
    assert len(handlers) == 1
    assert handlers[0].maxBytes > 0 and handlers[0].backupCount > 0


def test_registered_patient_identity_never_reaches_the_log():
    path = setup_logging()
    register_identifiers("DOE^JANE MARIE", "PID-4711-X")
    log = logging.getLogger("medstation.io.test")
    log.info("loaded study of %s (%s)", "DOE^JANE MARIE", "PID-4711-X")
    log.warning("series of Jane Marie Doe has irregular spacing")
    try:
        raise ValueError("patient PID-4711-X has no pixel data")
    except ValueError:
        log.exception("import failed")
    _flush()
    text = path.read_text(encoding="utf-8")
    assert "import failed" in text and "irregular spacing" in text
    for secret in ("DOE^JANE", "PID-4711-X", "JANE", "MARIE", "Doe"):
        assert secret.lower() not in text.lower(), secret
    assert text.count("[redacted]") >= 4
