"""PhysioNet Challenge 2012 record files (``Time,Parameter,Value``): one file, a folder, or a ``.tar.gz`` read
in place; and the outcomes file, of which only ``In-hospital_death`` is used.
"""

from __future__ import annotations

import math
import tarfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

from medstation.core.timeline import STATIC_VARIABLES, VARIABLES, BadRow, ImportReport, Timeline, TimeSeries
from medstation.errors import UnreadableInput
from medstation.io.timelines.patient_selection import missing_patient
from medstation.io.timelines.times import clinical_hours
from medstation.progress import ProgressCallback, check_cancelled, report

HEADER = "Time,Parameter,Value"
MISSING = -1.0


def is_record_text(text: str) -> bool:
    return text.lstrip("\ufeff").startswith(HEADER)


_STAMP_HOURS: dict[str, float] = {}
_STAMPS_KEPT = 1 << 16
"""Time stamps repeat from record to record (a 48-hour stay has at most 2,881 of them): each is parsed once."""


def _hours(stamp: str) -> float:
    hour = _STAMP_HOURS.get(stamp)
    if hour is not None:
        return hour
    hours, minutes = stamp.split(":")
    if not (hours.isdigit() and minutes.isdigit()) or int(minutes) >= 60:
        raise ValueError(f"time {stamp!r} is not hh:mm")
    hour = clinical_hours(int(hours) + int(minutes) / 60.0, stamp)
    if len(_STAMP_HOURS) < _STAMPS_KEPT:
        _STAMP_HOURS[stamp] = hour
    return hour


def _value(raw: str) -> float:
    value = float(raw)
    if not math.isfinite(value):
        raise ValueError(f"value {raw!r} is not a finite number")
    return value


def parse_record(text: str, source: str) -> tuple[Timeline, ImportReport]:
    """One record file's text as a timeline (no absolute anchor: times are hours since ICU admission)."""
    report_ = ImportReport()
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != HEADER:
        raise UnreadableInput(f"{source}: not a PhysioNet 2012 record (first line must be {HEADER!r})")
    static: dict[str, float] = {}
    patient_id = Path(source).stem
    record_line = 0
    observed: dict[str, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    for number, line in enumerate(lines[1:], start=2):
        stripped = line.strip()
        if not stripped:
            continue
        report_.rows += 1
        parts = stripped.split(",")
        if len(parts) != 3:
            report_.bad_rows.append(BadRow(source, number, f"expected 3 fields, got {len(parts)}: {line!r}"))
            continue
        stamp, name, raw = parts
        try:
            hour, value = _hours(stamp), _value(raw)
        except ValueError as error:
            report_.bad_rows.append(BadRow(source, number, f"unreadable value: {error}"))
            continue
        if name == "RecordID":
            if record_line or not value.is_integer():
                problem = f"second RecordID (the first is line {record_line})" if record_line else "not a whole number"
                report_.bad_rows.append(BadRow(source, number, f"RecordID {raw!r}: {problem}"))
                continue
            patient_id, record_line = str(int(value)), number
            continue
        if value == MISSING:
            report_.missing += 1
            continue
        if name in STATIC_VARIABLES and hour == 0.0 and name not in static:
            if STATIC_VARIABLES[name].plausible(value):
                static[name] = value
            else:
                report_.count_out_of_range(name)
            if name != "Weight":
                continue
        variable = VARIABLES.get(name)
        if variable is None:
            report_.bad_rows.append(BadRow(source, number, f"unknown variable {name!r}"))
            continue
        if not variable.plausible(value):
            report_.count_out_of_range(name)
            continue
        hours, values = observed[name]
        hours.append(hour)
        values.append(value)
        report_.observations += 1
    series = {name: TimeSeries(name, h, v) for name, (h, v) in observed.items()}
    return Timeline(patient_id, static, series, source=source), report_


def _members(path: Path) -> Iterator[tuple[str, Callable[[], bytes], float]]:
    """Each record file's name, a reader of its bytes, and the fraction of the input read before it."""
    if path.is_dir():
        files = sorted(file for file in path.glob("*.txt") if file.is_file())
        for index, file in enumerate(files):
            yield str(file), file.read_bytes, index / len(files)
    elif path.name.endswith((".tar.gz", ".tgz", ".tar")):
        size = max(path.stat().st_size, 1)
        try:
            with path.open("rb") as raw, tarfile.open(fileobj=raw, mode="r:*") as archive:
                for member in archive:
                    if member.isfile() and member.name.endswith(".txt"):
                        data = archive.extractfile(member).read()
                        yield f"{path}/{member.name}", lambda data=data: data, raw.tell() / size
                while archive.fileobj.read(1 << 20):
                    pass  # to the end of the stream, where a compressed archive's checksum is verified
        except (tarfile.TarError, EOFError, OSError) as error:
            raise UnreadableInput(f"{path}: damaged or unreadable archive ({error})") from None
    else:
        yield str(path), path.read_bytes, 0.0


def is_outcomes_text(text: str) -> bool:
    return text.lstrip("\ufeff").startswith("RecordID,")


def read_records(
    path: str | Path,
    progress: ProgressCallback | None = None,
    cancel=None,
    patient: str | None = None,
) -> tuple[list[Timeline], ImportReport]:
    """Every record under ``path`` (a record file, a folder of them, or a ``.tar.gz``), sorted by RecordID.

    With ``patient``, only the record of that RecordID: the others are read but neither kept nor counted.
    An outcomes file among the records is passed over.
    """
    path = Path(path)
    if not path.exists():
        raise UnreadableInput(f"{path}: no such file or folder")
    timelines: list[Timeline] = []
    others: list[str] = []
    total = ImportReport()
    for index, (source, read, done) in enumerate(_members(path)):
        check_cancelled(cancel)
        if index % 200 == 0:
            report(progress, min(0.99, done), f"read {index} records")
        try:
            text = read().decode("utf-8")
        except (OSError, UnicodeDecodeError) as error:
            total.bad_rows.append(BadRow(source, 0, f"unreadable file ({error})"))
            continue
        if is_outcomes_text(text):
            continue
        if not is_record_text(text) and (path.is_dir() or path.name.endswith((".tar.gz", ".tgz", ".tar"))):
            total.bad_rows.append(BadRow(source, 1, "not a PhysioNet 2012 record; skipped"))
            continue
        timeline, one = parse_record(text, source)
        if patient is not None and timeline.patient_id != patient:
            others.append(timeline.patient_id)
            continue
        timelines.append(timeline)
        total.merge(one)
    if not timelines:
        if others:
            raise missing_patient(path, patient, others)
        problem = f" (first problem: {total.bad_rows[0]})" if total.bad_rows else ""
        raise UnreadableInput(f"{path}: no PhysioNet 2012 record files found{problem}")
    timelines.sort(key=lambda t: (len(t.patient_id), t.patient_id))
    return timelines, total


def read_outcomes(path: str | Path) -> dict[str, int]:
    """RecordID -> In-hospital_death (0/1). The other columns are known only after the stay and are not read."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise UnreadableInput(f"{path}: cannot read the outcomes file ({error})") from None
    header = lines[0].strip().split(",") if lines else []
    if "RecordID" not in header or "In-hospital_death" not in header:
        raise UnreadableInput(f"{path}: an outcomes file needs RecordID and In-hospital_death columns")
    id_col, label_col = header.index("RecordID"), header.index("In-hospital_death")
    labels: dict[str, int] = {}
    for number, line in enumerate(lines[1:], start=2):
        parts = line.strip().split(",")
        if not line.strip():
            continue
        try:
            label = int(parts[label_col])
            record = str(int(parts[id_col]))
        except (ValueError, IndexError):
            raise UnreadableInput(f"{path}:{number}: unreadable row {line!r}") from None
        if label not in (0, 1):
            raise UnreadableInput(f"{path}:{number}: In-hospital_death must be 0 or 1, got {label}")
        if record in labels:
            raise UnreadableInput(f"{path}:{number}: RecordID {record} is listed a second time")
        labels[record] = label
    return labels
