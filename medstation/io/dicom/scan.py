"""Scan a folder tree (or a DICOMDIR, or one file) and group its images into loadable series.

Images are grouped by study, SeriesInstanceUID *and* SeriesNumber (some scanners reuse one UID across
series), then split where the geometry demands it: orientation, matrix size, pixel spacing, echo and image
type. Unreadable files are listed with the reason and never stop the scan.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from medstation.errors import UnreadableInput
from medstation.io.dicom.header import DICOMDIR_SOP_CLASS, FrameRecord, SeriesIdentity, read_file_records
from medstation.progress import ProgressCallback, check_cancelled, report

_ORIENTATION_DECIMALS = 4
_SPACING_DECIMALS = 4


@dataclass
class SeriesRecord:
    """One loadable image series: its identity, its images and why it was split from its siblings."""

    identity: SeriesIdentity
    frames: list[FrameRecord]
    split_label: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def paths(self) -> list[Path]:
        """The distinct files holding this series' images, in scan order."""
        return list(dict.fromkeys(frame.path for frame in self.frames))

    @property
    def n_files(self) -> int:
        """Number of files holding this series' images."""
        return len(self.paths)

    @property
    def n_voxels(self) -> int:
        """Number of voxels (all volumes), used to pick the largest series."""
        total = 0
        for frame in self.frames:
            per_image = frame.rows * frame.columns
            if frame.mosaic is not None:
                per_image = frame.mosaic.n_slices * frame.mosaic.tile_rows * frame.mosaic.tile_columns
            total += per_image
        return total

    @property
    def label(self) -> str:
        """A short human-readable name: number, description and split label."""
        number = "" if self.identity.series_number is None else f"{self.identity.series_number} "
        suffix = f" [{self.split_label}]" if self.split_label else ""
        return f"{number}{self.identity.series_description}{suffix}".strip()


@dataclass
class ScanResult:
    """Series found by :func:`scan_dicom` and the files it skipped, each with its reason."""

    series: list[SeriesRecord]
    skipped: list[tuple[Path, str]]


def scan_dicom(
    path: str | os.PathLike,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> ScanResult:
    """Find every DICOM image series under ``path`` (a folder, a DICOMDIR or one file).

    Parameters
    ----------
    path
        Folder to walk recursively, a DICOMDIR file, or a single DICOM file.
    progress, cancel
        Progress callback ``(fraction, message)`` and cancel token, checked between files.

    Returns
    -------
    ScanResult
        Series sorted by study, series number and split label; skipped files with reasons.

    Raises
    ------
    UnreadableInput
        When ``path`` does not exist, or is a single file that is not a readable DICOM image.
    """
    root = Path(path)
    if not root.exists():
        raise UnreadableInput(f"{root}: no such file or folder")
    files, missing = _candidate_files(root)
    single_file = root.is_file() and len(files) == 1 and files[0] == root
    result = scan_files(files, progress, cancel, strict=single_file)
    result.skipped[:0] = missing
    return result


def scan_files(
    files: Iterable[Path],
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    strict: bool = False,
) -> ScanResult:
    """Group the images of these files into series; unreadable files are skipped with their reason.

    With ``strict``, an unreadable file raises :class:`UnreadableInput` instead of being skipped.
    """
    files = list(files)
    by_series: dict[tuple, tuple[SeriesIdentity, list[FrameRecord]]] = {}
    skipped: list[tuple[Path, str]] = []
    for index, file in enumerate(files):
        check_cancelled(cancel)
        report(progress, index / max(1, len(files)), f"scanning {file.name}")
        if not file.is_file():
            skipped.append((file, f"{file}: not found (moved or deleted since it was listed); scan its folder"))
            continue
        try:
            result = read_file_records(file)
        except UnreadableInput as error:
            if strict:
                raise
            skipped.append((file, str(error)))
            continue
        if result is None:
            continue
        identity, frames = result
        key = (identity.study_uid, identity.series_uid, identity.series_number)
        by_series.setdefault(key, (identity, []))[1].extend(frames)
    report(progress, 1.0, "scan complete")
    series = [part for identity, frames in by_series.values() for part in split_series(identity, frames)]
    series.sort(key=lambda record: (
        record.identity.study_date, record.identity.study_uid,
        record.identity.series_number if record.identity.series_number is not None else -1,
        record.identity.series_uid, record.split_label,
    ))
    return ScanResult(series=series, skipped=skipped)


def _candidate_files(root: Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    """The files to scan under ``root``, and one skipped entry for a DICOMDIR that names files it lacks."""
    if root.is_dir():
        return sorted(Path(folder) / name for folder, _, names in os.walk(root) for name in names), []
    if _is_dicomdir(root):
        named = _files_referenced_by_dicomdir(root)
        present = [path for path in named if path.is_file()]
        if len(present) == len(named):
            return present, []
        return present, [(root, _missing_files_reason(root, named, present))]
    return [root], []


def _is_dicomdir(path: Path) -> bool:
    from pydicom import dcmread

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a damaged file is reported when its records are read
            meta = dcmread(path, stop_before_pixels=True, specific_tags=[]).file_meta
    except Exception:
        return False
    return str(meta.get("MediaStorageSOPClassUID", "")) == DICOMDIR_SOP_CLASS


def _files_referenced_by_dicomdir(path: Path) -> list[Path]:
    """Files named by the DICOMDIR's directory records (ReferencedFileID, relative to its folder)."""
    from pydicom import dcmread

    try:
        records = dcmread(path).get("DirectoryRecordSequence", [])
        file_ids = [record.ReferencedFileID for record in records if "ReferencedFileID" in record]
    except Exception as error:
        raise UnreadableInput(f"{path}: damaged DICOMDIR ({type(error).__name__}: {error})") from error
    components = [[str(file_id)] if isinstance(file_id, str) else [str(part) for part in file_id]
                  for file_id in file_ids]
    return sorted({path.parent.joinpath(*parts) for parts in components})


def _missing_files_reason(dicomdir: Path, named: list[Path], present: list[Path]) -> str:
    """One line for all the files a DICOMDIR names but its folder lacks."""
    found = set(present)
    missing = [path for path in named if path not in found]
    first = missing[0].relative_to(dicomdir.parent)
    return (
        f"{dicomdir}: {len(missing)} of the {len(named)} files this DICOMDIR names are not there (first: {first}); "
        "they were moved, deleted or copied without their folders: open the folder that holds the images instead"
    )


def _split_key(frame: FrameRecord) -> tuple:
    return (
        tuple(round(value, _ORIENTATION_DECIMALS) for value in frame.orientation),
        frame.rows, frame.columns, frame.samples,
        tuple(round(value, _SPACING_DECIMALS) for value in frame.pixel_spacing),
        frame.echo, frame.image_type, frame.mosaic is not None,
    )


def split_series(identity: SeriesIdentity, frames: Iterable[FrameRecord]) -> list[SeriesRecord]:
    """Split one series' images into parts that each form one volume (same orientation, size, echo, type)."""
    parts: dict[tuple, list[FrameRecord]] = {}
    for frame in frames:
        parts.setdefault(_split_key(frame), []).append(frame)
    if len(parts) == 1:
        return [SeriesRecord(identity=identity, frames=next(iter(parts.values())))]
    reasons = _split_reasons(list(parts))
    warning = f"mixed series split into {len(parts)} parts by {', '.join(reasons)}"
    records = []
    for number, (key, part) in enumerate(sorted(parts.items(), key=_part_order), start=1):
        label = _part_label(number, key, reasons)
        records.append(SeriesRecord(identity=identity, frames=part, split_label=label, warnings=[warning]))
    return records


def _part_order(item: tuple[tuple, list[FrameRecord]]) -> tuple:
    frames = item[1]
    first = min(frames, key=lambda frame: (frame.instance_number, str(frame.path), frame.frame or 0))
    return (first.instance_number, str(first.path), first.frame or 0)


_KEY_FIELDS = ("orientation", "matrix", "matrix", "samples", "pixel spacing", "echo", "image type", "mosaic")


def _split_reasons(keys: list[tuple]) -> list[str]:
    reasons = []
    for position, name in enumerate(_KEY_FIELDS):
        if len({key[position] for key in keys}) > 1 and name not in reasons:
            reasons.append(name)
    return reasons


def _part_label(number: int, key: tuple, reasons: list[str]) -> str:
    details = []
    if "echo" in reasons and key[5] is not None:
        details.append(f"echo {key[5]:g}")
    if "image type" in reasons and key[6]:
        details.append(key[6].split("\\")[-1].lower())
    if "matrix" in reasons:
        details.append(f"{key[2]}x{key[1]}")
    return f"part {number}" + (f" ({', '.join(details)})" if details else "")
