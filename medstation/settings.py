"""User settings that the workstation and the command line share: ``settings.json`` in the user data folder.

Preferences writes them; every command reads them. Only window geometry and dock layout, which mean nothing
outside the GUI, stay in Qt's own settings store. A missing file gives the defaults; an unreadable or damaged
one gives the defaults too, with one warning line on stderr (once per process), and is replaced on the next save.
Saving writes a temporary file beside the real one and renames it over, so a crash never leaves half a file.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from medstation.atomic_files import write_text_atomically
from medstation.errors import MedStationError
from medstation.paths import user_data_dir

SETTINGS_FILE_NAME = "settings.json"

log = logging.getLogger(__name__)
_warned: set[tuple[str, str]] = set()
_warned_lock = threading.Lock()


@dataclass(frozen=True)
class UserSettings:
    """Every user setting with its default."""

    device: str = "auto"
    """Compute device: ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps`` (``MEDSTATION_DEVICE`` overrides it)."""


def settings_file() -> Path:
    """``settings.json`` in the user data folder (``MEDSTATION_HOME`` overrides the folder)."""
    return user_data_dir() / SETTINGS_FILE_NAME


def settings_location() -> str:
    """The settings file's path as text, for messages; a description where the user data folder is unusable."""
    try:
        return str(settings_file())
    except MedStationError:
        return f"{SETTINGS_FILE_NAME} in the user data folder"


def load_settings(path: Path | None = None) -> UserSettings:
    """The saved settings; defaults for whatever is missing, and for everything when the file is damaged."""
    try:
        path = path or settings_file()
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return UserSettings()
    except (OSError, UnicodeDecodeError, MedStationError) as error:
        warn_once(path, f"cannot be read ({_reason(error)})")
        return UserSettings()
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        warn_once(path, f"is not valid JSON ({error.msg}, line {error.lineno})")
        return UserSettings()
    if not isinstance(document, dict):
        warn_once(path, f"holds a JSON {type(document).__name__}, not an object")
        return UserSettings()
    values, wrong = {}, []
    for field in dataclasses.fields(UserSettings):
        if field.name not in document:
            continue
        value = document[field.name]
        if isinstance(value, type(field.default)):
            values[field.name] = value
        else:
            wrong.append(f"{field.name}={json.dumps(value)}")
    if wrong:
        warn_once(path, f"has values of the wrong type ({', '.join(wrong)})", "the defaults for those")
    return UserSettings(**values)


def save_settings(settings: UserSettings, path: Path | None = None) -> None:
    """Write the settings atomically, keeping keys this version does not know (written by a newer one)."""
    path = path or settings_file()
    document = _readable_object(path)
    document.update(dataclasses.asdict(settings))
    try:
        write_text_atomically(path, json.dumps(document, indent=2, sort_keys=True) + "\n")
    except OSError as error:
        raise MedStationError(f"{path}: cannot save the settings ({_reason(error)})") from error


def update_settings(path: Path | None = None, **changes: object) -> UserSettings:
    """Change some settings, keep the rest, save; returns the new settings."""
    settings = dataclasses.replace(load_settings(path), **changes)
    save_settings(settings, path)
    return settings


def load_section(name: str, path: Path | None = None) -> object | None:
    """The value of a top-level key of ``settings.json`` that a module of its own keeps and checks (the PACS nodes:
    ``io/pacs/nodes.py``); None when absent or when the file cannot be read."""
    try:
        path = path or settings_file()
    except MedStationError:
        return None
    return _readable_object(path).get(name)


def save_section(name: str, value: object, path: Path | None = None) -> None:
    """Replace one top-level key of ``settings.json`` atomically, keeping every other key."""
    path = path or settings_file()
    document = _readable_object(path)
    document[name] = value
    try:
        write_text_atomically(path, json.dumps(document, indent=2, sort_keys=True) + "\n")
    except OSError as error:
        raise MedStationError(f"{path}: cannot save the settings ({_reason(error)})") from error


def _readable_object(path: Path) -> dict:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return document if isinstance(document, dict) else {}


def _reason(error: Exception) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


def warn_once(path: Path | None, problem: str, fallback: str = "the default settings") -> None:
    """One line on stderr and in the log, once per file and problem in this process (also for other user files
    that fall back on defaults, such as the hanging protocols)."""
    where = str(path) if path is not None else "the settings file"
    with _warned_lock:
        if (where, problem) in _warned:
            return
        _warned.add((where, problem))
    message = f"{where} {problem}; using {fallback}"
    print(f"medstation: warning: {message}", file=sys.stderr)
    log.info("settings: %s", message)
