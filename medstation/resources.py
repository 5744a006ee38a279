"""Locate files shipped inside the ``medstation`` package: ``data/resources/`` and ``data/models/``.

They travel as package data, so the same paths hold in a checkout, an editable install, an installed wheel
and a frozen build that collects the package's data files beside its modules.
"""

from __future__ import annotations

from pathlib import Path

DATA_ROOT = Path(__file__).resolve().parent / "data"
"""``medstation/data``: style sheets, the sample study and timelines, and the shipped model bundles."""


def resources_dir() -> Path:
    """The ``resources`` folder: style sheets, the bundled sample study and sample timelines."""
    return DATA_ROOT / "resources"


def resource_path(*parts: str) -> Path:
    """Path of one resource file, e.g. ``resource_path("styles", "dark.qss")``."""
    return resources_dir().joinpath(*parts)


def installed_models_dir() -> Path:
    """The ``models`` folder of shipped model bundles."""
    return DATA_ROOT / "models"
