"""Where model bundles are found: the shipped ``models/`` folder, then the user's models folder.

Every sub-folder of those two (hidden ones aside, such as a bundle still being written) is a bundle entry, valid
or with the reason it is not. A user bundle with the name of a shipped one is reported as shadowed, so a name
always means the shipped model; the user bundle stays usable by its path.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medstation.engine.bundles.metadata import BundleMetadata
from medstation.engine.bundles.store import METADATA_FILE, Bundle, open_bundle
from medstation.errors import ModelError
from medstation.paths import user_models_dir
from medstation.resources import installed_models_dir


@dataclass(frozen=True)
class BundleEntry:
    """One folder found in a models folder: the bundle if it is valid, otherwise why it is not."""

    name: str
    location: Path
    source: str
    metadata: BundleMetadata | None
    problem: str | None

    @property
    def valid(self) -> bool:
        return self.problem is None

    def as_dict(self) -> dict[str, Any]:
        """The entry as ``medstation models --json`` prints it."""
        return {
            "name": self.name,
            "task": self.metadata.task if self.metadata else None,
            "version": self.metadata.version if self.metadata else None,
            "labels": list(self.metadata.labels) if self.metadata else [],
            "location": str(self.location),
            "source": self.source,
            "valid": self.valid,
            "problem": self.problem,
        }


def model_folders() -> list[tuple[str, Path]]:
    """The folders searched for bundles, in order, each with its source name."""
    return [("installed", installed_models_dir()), ("user", user_models_dir())]


def _entry(folder: Path, source: str) -> BundleEntry:
    metadata = None
    try:
        bundle = open_bundle(folder)
        metadata = bundle.metadata
        bundle.verify_weights()
    except ModelError as error:
        return BundleEntry(folder.name, folder, source, metadata, str(error))
    return BundleEntry(folder.name, folder, source, metadata, None)


def list_bundles(folders: list[tuple[str, Path]] | None = None) -> list[BundleEntry]:
    """Every bundle folder in ``folders`` (default :func:`model_folders`), each opened and its weights checked."""
    entries: list[BundleEntry] = []
    seen: dict[str, Path] = {}
    for source, models_dir in model_folders() if folders is None else folders:
        if not models_dir.is_dir():
            continue
        for folder in sorted(path for path in models_dir.iterdir() if path.is_dir() and not path.name.startswith(".")):
            entry = _entry(folder, source)
            if folder.name in seen and entry.valid:
                entry = BundleEntry(
                    entry.name,
                    folder,
                    source,
                    entry.metadata,
                    f"{folder}: shadowed by the bundle of the same name in {seen[folder.name]}; "
                    "rename this folder or pass its path",
                )
            seen.setdefault(folder.name, folder)
            entries.append(entry)
    return entries


def find_bundle(name_or_path: str, folders: list[tuple[str, Path]] | None = None) -> Bundle:
    """The bundle at a path, or the first bundle of that name in ``folders`` (default :func:`model_folders`)."""
    path = Path(name_or_path)
    if (path / METADATA_FILE).is_file():
        return open_bundle(path)
    searched = model_folders() if folders is None else folders
    for _source, models_dir in searched:
        if (models_dir / name_or_path).is_dir() and not name_or_path.startswith("."):
            return open_bundle(models_dir / name_or_path)
    looked_in = ", ".join(str(models_dir) for _source, models_dir in searched)
    raise ModelError(
        f"{name_or_path}: no model bundle of that name (looked in {looked_in}); 'medstation models' lists them"
    )
