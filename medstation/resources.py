"""Locate files shipped with MedStation (``resources/``, ``models/``) in a checkout or a frozen build."""

from __future__ import annotations

import sys
from pathlib import Path


def install_root() -> Path:
    """The folder holding ``resources/`` and ``models/``: the PyInstaller bundle, else the package's parent."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root)
    return Path(__file__).resolve().parent.parent


def resources_dir() -> Path:
    """The ``resources`` folder: inside a PyInstaller bundle, else beside the ``medstation`` package."""
    return install_root() / "resources"


def resource_path(*parts: str) -> Path:
    """Path of one resource file, e.g. ``resource_path("styles", "dark.qss")``."""
    return resources_dir().joinpath(*parts)


def installed_models_dir() -> Path:
    """The ``models`` folder of shipped model bundles, beside ``resources``."""
    return install_root() / "models"
