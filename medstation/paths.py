"""Per-user folders: data (study database, user models, studies received from a PACS) and logs.

``MEDSTATION_HOME`` overrides the platform's user data folder (portable installs, tests).
A folder that cannot be created (a file in the way, no permission) raises :class:`MedStationError` naming it.
"""

from __future__ import annotations

import os
from pathlib import Path

from medstation.errors import MedStationError

HOME_VARIABLE = "MEDSTATION_HOME"


def user_data_dir() -> Path:
    """The user data folder, created if missing."""
    override = os.environ.get(HOME_VARIABLE)
    if override:
        path = Path(override)
    else:
        import platformdirs

        path = Path(platformdirs.user_data_dir("MedStation", appauthor=False))
    return _create_folder(path)


def log_dir() -> Path:
    """Where the rotating log file lives."""
    return _create_folder(user_data_dir() / "logs")


def user_models_dir() -> Path:
    """Where model bundles the user trained or installed live."""
    return _create_folder(user_data_dir() / "models")


def received_dir() -> Path:
    """Where studies received from a PACS are stored (retrieved, or pushed to MedStation's Storage SCP)."""
    return _create_folder(user_data_dir() / "received")


def _create_folder(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        reason = _why(path, error)
        raise MedStationError(f"{path}: cannot create MedStation's data folder ({reason}); {_advice()}") from error
    return path


def _why(path: Path, error: OSError) -> str:
    if isinstance(error, FileExistsError) or (path.exists() and not path.is_dir()):
        return "a file of that name is in the way"
    if isinstance(error, NotADirectoryError):
        blocker = next((parent for parent in path.parents if parent.is_file()), None)
        return f"{blocker} is a file, not a folder" if blocker else "part of the path is a file, not a folder"
    if isinstance(error, PermissionError):
        return "no permission to create it"
    return error.strerror or type(error).__name__


def _advice() -> str:
    if os.environ.get(HOME_VARIABLE):
        return f"set {HOME_VARIABLE} to a folder you can write, or move what is in the way"
    return f"move what is in the way, or set {HOME_VARIABLE} to a folder you can write"
