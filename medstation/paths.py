"""Per-user folders: data (study database, user models) and logs.

``MEDSTATION_HOME`` overrides the platform's user data folder (portable installs, tests).
"""

from __future__ import annotations

import os
from pathlib import Path

HOME_VARIABLE = "MEDSTATION_HOME"


def user_data_dir() -> Path:
    """The user data folder, created if missing."""
    override = os.environ.get(HOME_VARIABLE)
    if override:
        path = Path(override)
    else:
        import platformdirs

        path = Path(platformdirs.user_data_dir("MedStation", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def log_dir() -> Path:
    """Where the rotating log file lives."""
    path = user_data_dir() / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def user_models_dir() -> Path:
    """Where model bundles the user trained or installed live."""
    path = user_data_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path
