"""Long-format CSV timelines: ``patient_id,time,variable,value[,unit]``, one observation a row, header first.

``time`` is either an ISO-8601 date-time (``2025-12-31T18:30``, optional seconds and UTC offset) or hours since
admission (a number); a file uses one kind throughout, the kind of its first readable time. With date-times, a row
whose variable is ``Admission`` gives the patient's admission time (the anchor; its value is not read); a patient
without one is anchored at their earliest time. ``variable`` is a MedStation variable name in any case; ``unit`` may
be empty for the variable's own unit. Empty, ``NA`` or ``NaN`` values count as missing.
"""

from __future__ import annotations

import csv
import io
import math
from datetime import datetime
from pathlib import Path

from medstation.core.timeline import BadRow, ImportReport, Timeline
from medstation.errors import UnreadableInput
from medstation.io.timelines.collector import TimelineCollector, variable_name
from medstation.io.timelines.patient_selection import missing_patient
from medstation.io.timelines.times import OutOfClinicalRange, clinical_hours, parse_iso_datetime
from medstation.progress import CancelToken, ProgressCallback, check_cancelled, report

COLUMNS = ("patient_id", "time", "variable", "value")
UNIT_COLUMN = "unit"
ADMISSION = "admission"
MISSING_VALUES = frozenset({"", "na", "nan", "null", "none"})
_CHECK_EVERY = 5000


def header_columns(line: str) -> list[str] | None:
    """The column names if ``line`` is a long-CSV header (``patient_id,time,variable,value[,unit]``), else None."""
    try:
        names = [name.strip().casefold() for name in next(csv.reader([line.lstrip("\ufeff")]), [])]
    except csv.Error:
        return None
    return names if names in (list(COLUMNS), [*COLUMNS, UNIT_COLUMN]) else None


def _parse_time(text: str) -> float | datetime:
    try:
        hours = float(text)
    except ValueError:
        return parse_iso_datetime(text)
    return clinical_hours(hours, text)


class _CsvReader:
    """One pass over the rows of one file, filling a collector and a report."""

    def __init__(self, source: str):
        self.source = source
        self.report = ImportReport()
        self.collector = TimelineCollector(source, self.report)
        self.found: dict[str, None] = {}
        self.time_kind: tuple[type, int] | None = None
        self.admission_lines: dict[str, int] = {}

    def bad(self, line: int, reason: str) -> None:
        self.report.bad_rows.append(BadRow(self.source, line, reason))

    def row(self, line: int, fields: list[str], width: int) -> None:
        if len(fields) != width:
            self.bad(line, f"expected {width} fields ({','.join([*COLUMNS, UNIT_COLUMN][:width])}), got {len(fields)}")
            return
        patient_id, stamp, name, raw = (text.strip() for text in fields[:4])
        unit = fields[4].strip() if width == 5 else ""
        if not patient_id:
            self.bad(line, "no patient_id")
            return
        try:
            when = self.time(line, stamp)
            if name.casefold() == ADMISSION:
                self.admission(line, patient_id, when)
                return
            variable = variable_name(name)
        except ValueError as error:
            self.bad(line, str(error))
            return
        if raw.casefold() in MISSING_VALUES:
            self.report.missing += 1
            return
        try:
            value = float(raw)
            if not math.isfinite(value):
                raise ValueError
        except ValueError:
            self.bad(line, f"unreadable value {raw!r} for {variable}: write a number, or leave it empty if missing")
            return
        try:
            self.collector.add(patient_id, variable, when, value, unit)
        except ValueError as error:
            self.bad(line, str(error))

    def time(self, line: int, stamp: str) -> float | datetime:
        try:
            when = _parse_time(stamp)
        except OutOfClinicalRange:
            raise
        except ValueError:
            raise ValueError(
                f"unreadable time {stamp!r}: write an ISO-8601 date-time (2025-12-31T18:30) or hours since admission"
            ) from None
        kind = datetime if isinstance(when, datetime) else float
        if self.time_kind is None:
            self.time_kind = (kind, line)
        elif self.time_kind[0] is not kind:
            first = "date-times" if self.time_kind[0] is datetime else "hours since admission"
            raise ValueError(f"time {stamp!r} is not like the file's first time (line {self.time_kind[1]}: {first});"
                             " use one kind of time in a file")
        return when

    def admission(self, line: int, patient_id: str, when: float | datetime) -> None:
        if not isinstance(when, datetime):
            raise ValueError("an Admission row needs a date-time, not hours (hour 0 is the admission)")
        if patient_id in self.admission_lines:
            raise ValueError(f"second Admission row for patient {patient_id} (the first is line "
                             f"{self.admission_lines[patient_id]})")
        self.admission_lines[patient_id] = line
        self.collector.set_anchor(patient_id, when)


def _read_rows(rows, reader: _CsvReader, lines: int, width: int, patient: str | None, progress, cancel) -> None:
    """Every row after the header into ``reader``; rows of other patients than ``patient`` are only noted."""
    for number, fields in enumerate(rows):
        if number % _CHECK_EVERY == 0:
            check_cancelled(cancel)
            report(progress, rows.line_num / lines, f"read {rows.line_num} rows")
        if not any(field.strip() for field in fields):
            continue
        patient_id = fields[0].strip()
        if patient is not None and patient_id and patient_id != patient:
            reader.found[patient_id] = None
            continue
        reader.report.rows += 1
        reader.row(rows.line_num, fields, width)


def read_timeline_csv(
    path: str | Path,
    patient: str | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken = None,
) -> tuple[list[Timeline], ImportReport]:
    """The patients of a long CSV file (only ``patient``, when given), with the report of what was not used.

    Bad rows are reported with their line numbers; rows of other patients than ``patient`` are not counted.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise UnreadableInput(f"{path}: cannot read the CSV file ({error})") from None
    lines = text.splitlines()
    columns = header_columns(lines[0]) if lines else None
    if columns is None:
        raise UnreadableInput(f"{path}: the first line must be the header {','.join(COLUMNS)}[,{UNIT_COLUMN}]")
    reader = _CsvReader(str(path))
    rows = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    next(rows)
    try:
        _read_rows(rows, reader, len(lines), len(columns), patient, progress, cancel)
    except csv.Error as error:
        raise UnreadableInput(f"{path}: line {rows.line_num}: {error}") from None
    timelines = reader.collector.timelines()
    if not timelines:
        if patient is not None and reader.report.rows == 0:
            raise missing_patient(path, patient, reader.found)
        problem = f" (first problem: {reader.report.bad_rows[0]})" if reader.report.bad_rows else ""
        raise UnreadableInput(f"{path}: no usable observation rows{problem}")
    return timelines, reader.report
