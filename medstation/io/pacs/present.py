"""What a retrieve need not transfer: the SOP instances of the study (or series) that the study database already
lists, with their files still on disk, compared with what the node holds.

The local side costs one database query; only when some of the study is already here is the node asked for its
instances (image level), and the retrieve then asks for whole series where none of a series is here and for the
missing instances only where part of it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from medstation.io.database import StudyDatabase
from medstation.io.pacs.storage import instance_path


@dataclass(frozen=True)
class RetrievePart:
    """One request of a retrieve: a whole study (``series_uid`` empty), a whole series, or listed instances of one
    series."""

    series_uid: str = ""
    sop_uids: tuple[str, ...] = ()
    expected: int = 0
    """Instances the node said the part holds (0: not asked)."""


@dataclass(frozen=True)
class RetrievePlan:
    parts: list[RetrievePart]
    already_present: int
    """Instances the node holds that are here already and are not transferred."""


def local_instances(database_path: Path | None, root: Path, study_uid: str,
                    series_uid: str = "") -> dict[str, set[str]]:
    """SOP instance UIDs per series of the study (or the one series) that the study database lists and whose files
    exist. A file MedStation received is known by its name (``received/<study>/<series>/<SOP>.dcm``); any other
    file's UID is read from its header."""
    with StudyDatabase(database_path) as database:
        rows = [row for row in database.series(study_uid) if not series_uid or row.series_uid == series_uid]
        files = {row.series_uid: database.series_files(row) for row in rows}
    found: dict[str, set[str]] = {}
    for series, paths in files.items():
        for path in paths:
            uid = _sop_uid(Path(path), root, study_uid, series)
            if uid:
                found.setdefault(series, set()).add(uid)
    return found


def _sop_uid(path: Path, root: Path, study_uid: str, series_uid: str) -> str:
    if not path.is_file():
        return ""
    stem = path.name.removesuffix(".dcm")
    if path == instance_path(root, study_uid, series_uid, stem):
        return stem
    from pydicom import dcmread
    from pydicom.errors import InvalidDicomError

    try:
        header = dcmread(path, stop_before_pixels=True, specific_tags=["SOPInstanceUID"])
    except (OSError, InvalidDicomError, ValueError, EOFError):
        return ""
    return str(header.get("SOPInstanceUID", "") or "")


def plan(counts: dict[str, int], listed: dict[str, set[str]], local: dict[str, set[str]]) -> RetrievePlan:
    """What to ask for, given the node's series with their instance counts, the instances it listed for the series
    partly here, and the instances here. A series whose listing is shorter than its count (a node that limits its
    answers) is asked for whole: its files are replaced, never doubled."""
    parts = []
    present = 0
    for series in sorted(counts):
        listing = listed.get(series)
        if not local.get(series) or listing is None or len(listing) < counts[series]:
            parts.append(RetrievePart(series, (), counts[series]))
            continue
        here = listing & local[series]
        present += len(here)
        missing = listing - here
        if missing:
            parts.append(RetrievePart(series, tuple(sorted(missing)), len(missing)))
    return RetrievePlan(parts, present)


def whole(series_uid: str = "") -> RetrievePlan:
    return RetrievePlan([RetrievePart(series_uid)], 0)
