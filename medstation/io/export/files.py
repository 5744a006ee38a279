"""Where an export may write, and writing there atomically.

Every exported file goes to a temporary name in its folder and is renamed into place once complete, so a reader
never sees half a file (:mod:`medstation.atomic_files`); it gets the mode any new file gets, ``0666`` less the
user's umask, so an export is as readable as a file the user saves elsewhere. An existing file is replaced only
when the caller says so (``force``); nothing is ever written into the folder (or over the file) an export reads from.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from medstation import atomic_files
from medstation.errors import MedStationError


class ExportError(MedStationError):
    """An export that cannot be written as asked (a file in the way, a source folder, an object not derivable)."""


class OutputExists(ExportError):
    """An output that already exists and was not to be replaced; ``path`` names it (the workstation asks)."""

    def __init__(self, message: str, path: str | os.PathLike):
        super().__init__(message)
        self.path = Path(path)


def refuse_source_target(target: str | os.PathLike, sources: Iterable[str | os.PathLike]) -> None:
    """Raise :class:`ExportError` when ``target`` is one of ``sources``, or inside a source folder (or a source
    folder is inside ``target``, which a replaced folder would remove)."""
    out = Path(target).resolve()
    for source in sources:
        source = Path(source).resolve()
        if out == source:
            raise ExportError(f"{target}: this is an input of the export; write the output to another path")
        if source.is_dir() and source in out.parents:
            raise ExportError(f"{target}: inside the input folder {source}, which is never changed; write elsewhere")
        if out in source.parents:
            raise ExportError(f"{target}: holds the input {source}; write the output elsewhere")


def refuse_existing(target: str | os.PathLike, force: bool) -> None:
    """Raise :class:`ExportError` naming ``target`` when it exists and ``force`` was not given."""
    if not force and os.path.lexists(target):
        raise OutputExists(f"{target}: already exists; choose another name, or replace it with --force", target)


def write_atomically(target: str | os.PathLike, write: Callable[[Path], None], force: bool = False) -> Path:
    """Call ``write(temporary_path)`` in ``target``'s folder, then move the result to ``target``.

    Raises
    ------
    ExportError
        When ``target`` exists and ``force`` is False, or its folder cannot be created.
    """
    target = Path(target)
    refuse_existing(target, force)
    make_folder(target.parent)
    try:
        return atomic_files.write_atomically(target, write, replace=force)
    except FileExistsError:
        raise ExportError(f"{target}: appeared while it was being written; nothing was replaced") from None


def make_folder(folder: str | os.PathLike) -> Path:
    """Create ``folder`` (and its parents); ExportError naming it when a file stands in the way."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise ExportError(f"{folder}: a file stands where the output folder would be") from None
    except OSError as error:
        raise ExportError(f"{folder}: cannot create the output folder ({error.strerror})") from None
    return folder


def publish_folder(staging: Path, target: Path, force: bool) -> None:
    """Move a completely written ``staging`` folder to ``target`` (an existing ``target`` replaced with ``force``)."""
    if os.path.lexists(target):
        refuse_existing(target, force)
        aside = target.with_name(f".{target.name}.replaced-{os.getpid()}")
        os.replace(target, aside)
        os.replace(staging, target)
        if aside.is_dir() and not aside.is_symlink():
            shutil.rmtree(aside)
        else:
            aside.unlink()
        return
    os.replace(staging, target)


def staging_folder(parent: Path, name: str) -> Path:
    """A fresh hidden folder in ``parent`` to write a whole export into before it is published."""
    return Path(tempfile.mkdtemp(prefix=f".{name}-", suffix=".partial", dir=make_folder(parent)))


def save_dicom(dataset, target: str | os.PathLike, force: bool = False) -> Path:
    """Write a DICOM object (with its file meta information) atomically to ``target``."""
    return write_atomically(target, lambda path: dataset.save_as(path, enforce_file_format=True), force)
