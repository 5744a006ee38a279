"""Locate files under ``resources/`` (icons, style sheets, sample data) in a checkout or a frozen build."""

from __future__ import annotations

import sys
from pathlib import Path


def resources_dir() -> Path:
    """The ``resources`` folder: inside a PyInstaller bundle, else beside the ``medstation`` package."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def resource_path(*parts: str) -> Path:
    """Path of one resource file, e.g. ``resource_path("styles", "dark.qss")``."""
    return resources_dir().joinpath(*parts)
