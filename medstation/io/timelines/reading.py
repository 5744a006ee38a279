"""Timeline importers behind one call: the format is told from the path and the file's first bytes.

PhysioNet 2012 record files, folders and ``.tar.gz`` archives (``medstation.io.timelines.physionet``), long CSV files
(``medstation.io.timelines.long_csv``) and FHIR R4 Bundles of Observations (``medstation.io.timelines.fhir``). Imaging
studies of the local study database can then be placed on timelines that have an absolute admission time.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from medstation.core.timeline import Event, ImportReport, Timeline
from medstation.errors import UnreadableInput
from medstation.io.database import SeriesRow, StudyDatabase
from medstation.io.timelines.fhir import read_fhir_timelines
from medstation.io.timelines.long_csv import header_columns, read_timeline_csv
from medstation.io.timelines.physionet import is_record_text, read_records
from medstation.io.timelines.times import hours_between
from medstation.progress import CancelToken, ProgressCallback

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")
_SNIFF_BYTES = 4096
STUDY = "study"


def _opening(path: Path) -> str:
    try:
        with path.open("rb") as file:
            head = file.read(_SNIFF_BYTES)
    except OSError as error:
        raise UnreadableInput(f"{path}: cannot read the file ({error})") from None
    if b"\0" in head:
        raise UnreadableInput(f"{path}: a binary file, not a timeline (PhysioNet record, long CSV or FHIR JSON)")
    return head.decode("utf-8", errors="replace").lstrip("\ufeff")


def load_timelines(
    path: str | Path,
    patient: str | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken = None,
) -> tuple[list[Timeline], ImportReport]:
    """The patients' timelines in ``path`` (only ``patient`` when given) and the report of what was not used.

    ``path`` is a PhysioNet 2012 record file, a folder or ``.tar.gz`` of them, a long CSV file
    (``patient_id,time,variable,value[,unit]``) or a FHIR R4 Bundle / Observation in JSON.
    """
    path = Path(path)
    if not path.exists():
        raise UnreadableInput(f"{path}: no such file or folder")
    if path.is_dir() or path.name.endswith(ARCHIVE_SUFFIXES):
        return read_records(path, progress, cancel, patient)
    opening = _opening(path)
    if not opening.strip():
        raise UnreadableInput(f"{path}: the file is empty")
    if is_record_text(opening):
        return read_records(path, progress, cancel, patient)
    if opening.lstrip().startswith(("{", "[")):
        return read_fhir_timelines(path, patient, progress, cancel)
    if header_columns(opening.splitlines()[0]) is not None:
        return read_timeline_csv(path, patient, progress, cancel)
    raise UnreadableInput(
        f"{path}: not a timeline MedStation reads: a PhysioNet 2012 record starts with 'Time,Parameter,Value', "
        "a long CSV with the header 'patient_id,time,variable,value[,unit]', a FHIR file is a JSON Bundle"
    )


def _study_moment(database: StudyDatabase, series: list[SeriesRow], study_date: str) -> tuple[datetime, bool] | None:
    """The study's date and time (and whether the time of day is known); None when the date is unreadable."""
    try:
        day = datetime.strptime(study_date.strip(), "%Y%m%d")
    except ValueError:
        return None
    for row in series:
        for file in database.series_files(row)[:1]:
            stamp = _study_time(file)
            if stamp is not None:
                return day.replace(hour=stamp[0], minute=stamp[1], second=stamp[2]), True
    return day, False


def _study_time(file: Path) -> tuple[int, int, int] | None:
    """StudyTime (``HHMMSS.frac``, minutes and seconds optional) of a DICOM file, or None."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        dataset = pydicom.dcmread(file, stop_before_pixels=True, specific_tags=["StudyTime"])
    except (OSError, ValueError, TypeError, InvalidDicomError):
        return None
    digits = str(dataset.get("StudyTime", "") or "").strip().split(".")[0]
    if not digits.isdigit() or len(digits) not in (2, 4, 6):
        return None
    parts = [int(digits[i : i + 2]) for i in range(0, len(digits), 2)] + [0, 0]
    hour, minute, second = parts[:3]
    return (hour, minute, second) if hour < 24 and minute < 60 and second < 60 else None


def attach_studies(timelines: list[Timeline], database: StudyDatabase) -> int:
    """Add the database's imaging studies of each patient as ``study`` events; returns how many were added.

    Only timelines with an absolute admission time (``anchor``) get studies; a study is placed at its
    StudyDate + StudyTime (midnight when the time is missing, and its label says so), its reference is the
    StudyInstanceUID, which the workstation opens from the database. Studies already on a timeline are not
    added twice.
    """
    added = 0
    for timeline in timelines:
        if timeline.anchor is None:
            continue
        present = {event.reference for event in timeline.events if event.kind == STUDY}
        for study in database.studies(timeline.patient_id):
            if study.study_uid in present:
                continue
            series = database.series(study.study_uid)
            placed = _study_moment(database, series, study.study_date)
            if placed is None:
                continue
            moment, timed = placed
            modalities = "/".join(dict.fromkeys(row.modality for row in series if row.modality))
            when = moment.strftime("%Y-%m-%d %H:%M") if timed else moment.strftime("%Y-%m-%d (time unknown)")
            label = " ".join(part for part in (modalities, study.study_description, when) if part)
            hour = hours_between(timeline.anchor, moment)
            timeline.events.append(Event(hour, STUDY, label, study.study_uid))
            added += 1
        timeline.events.sort(key=lambda event: event.hour)
    return added
