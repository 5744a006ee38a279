"""What a query asks a PACS (:class:`QueryFilters`) and what it answers (:class:`PacsMatch`), at patient, study
or series level, the same for C-FIND and QIDO-RS.

Text filters (name, study description) match anywhere in the value unless they hold a ``*`` or ``?`` wildcard of
their own; IDs, accession numbers and modalities match exactly; dates are a DICOM range (``YYYYMMDD``,
``YYYYMMDD-``, ``-YYYYMMDD``, ``YYYYMMDD-YYYYMMDD``; ``YYYY-MM-DD`` is accepted too).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from pydicom.multival import MultiValue

from medstation.io.pacs.errors import PacsError

LEVELS = ("patient", "study", "series")
_DATE = re.compile(r"^\d{8}$")


@dataclass(frozen=True)
class QueryFilters:
    level: str = "study"
    patient_name: str = ""
    patient_id: str = ""
    date_range: str = ""
    """StudyDate as a DICOM range, see the module's description."""
    modality: str = ""
    accession_number: str = ""
    study_description: str = ""
    study_uid: str = ""
    series_uid: str = ""

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise PacsError(f"query level {self.level!r}: expected one of {', '.join(LEVELS)}")
        object.__setattr__(self, "date_range", normalise_date_range(self.date_range))
        if self.level == "patient":
            extra = [name for name in ("date_range", "modality", "accession_number", "study_description",
                                       "study_uid", "series_uid") if getattr(self, name)]
            if extra:
                raise PacsError(f"at patient level only the patient name and ID can be filtered (not "
                                f"{', '.join(name.replace('_', ' ') for name in extra)}); query studies instead")

    def study_keys(self) -> dict[str, str]:
        """The study-level matching keys (keyword -> value) these filters set."""
        keys = {
            "PatientName": text_pattern(self.patient_name),
            "PatientID": self.patient_id,
            "StudyDate": self.date_range,
            "AccessionNumber": self.accession_number,
            "StudyDescription": text_pattern(self.study_description),
            "StudyInstanceUID": self.study_uid,
        }
        if self.level == "study":
            keys["ModalitiesInStudy"] = self.modality.upper()
        return {key: value for key, value in keys.items() if value}

    def series_keys(self) -> dict[str, str]:
        keys = {"Modality": self.modality.upper(), "SeriesInstanceUID": self.series_uid}
        return {key: value for key, value in keys.items() if value}

    def with_study(self, study_uid: str) -> QueryFilters:
        return dataclasses.replace(self, study_uid=study_uid)


def text_pattern(value: str) -> str:
    """``value`` as a wildcard match anywhere in the text, unless it holds wildcards of its own."""
    value = value.strip()
    if not value or any(char in value for char in "*?"):
        return value
    return f"*{value}*"


def normalise_date_range(value: str) -> str:
    """A DICOM date range from the user's text; :class:`PacsError` when it is not one."""
    text = value.strip().replace(" ", "")
    if not text:
        return ""
    parts = re.sub(r"(\d{4})-(\d{2})-(\d{2})", r"\1\2\3", text).split("-")
    if len(parts) > 2 or not all(_DATE.match(part) for part in parts if part) or not any(parts):
        raise PacsError(f"date range {value!r}: expected YYYYMMDD, YYYYMMDD-, -YYYYMMDD or YYYYMMDD-YYYYMMDD")
    if len(parts) == 2 and parts[0] and parts[1] and parts[0] > parts[1]:
        raise PacsError(f"date range {value!r}: the first date is after the second")
    return "-".join(parts)


@dataclass(frozen=True)
class PacsMatch:
    """One answer to a query: a patient, a study or a series (study and patient attributes included)."""

    level: str
    patient_name: str = ""
    patient_id: str = ""
    study_uid: str = ""
    study_date: str = ""
    study_description: str = ""
    accession_number: str = ""
    modalities: str = ""
    """The study's modalities (``ModalitiesInStudy``), backslash-joined; the series' own at series level."""
    series_uid: str = ""
    series_number: int | None = None
    series_description: str = ""
    instances: int | None = None
    """Instances in the series (or study) where the node says."""
    studies: int | None = None
    """A patient's studies where the node says."""

    def as_dict(self) -> dict:
        fields = dataclasses.asdict(self)
        keep = {
            "patient": ("level", "patient_name", "patient_id", "studies"),
            "study": ("level", "patient_name", "patient_id", "study_uid", "study_date", "study_description",
                      "accession_number", "modalities", "instances"),
            "series": tuple(fields),
        }[self.level]
        return {key: fields[key] for key in keep}


def _text(dataset, keyword: str) -> str:
    value = dataset.get(keyword, "")
    if value is None:
        return ""
    if isinstance(value, (list, tuple, MultiValue)):
        return "\\".join(str(item) for item in value)
    return str(value).strip()


def _number(dataset, keyword: str) -> int | None:
    try:
        value = dataset.get(keyword)
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def match_from_dataset(level: str, dataset) -> PacsMatch:
    """A :class:`PacsMatch` from a C-FIND identifier or a QIDO-RS answer (as a pydicom Dataset)."""
    return PacsMatch(
        level=level,
        patient_name=_text(dataset, "PatientName"),
        patient_id=_text(dataset, "PatientID"),
        study_uid=_text(dataset, "StudyInstanceUID"),
        study_date=_text(dataset, "StudyDate"),
        study_description=_text(dataset, "StudyDescription"),
        accession_number=_text(dataset, "AccessionNumber"),
        modalities=_text(dataset, "Modality" if level == "series" else "ModalitiesInStudy"),
        series_uid=_text(dataset, "SeriesInstanceUID"),
        series_number=_number(dataset, "SeriesNumber"),
        series_description=_text(dataset, "SeriesDescription"),
        instances=_number(dataset, "NumberOfSeriesRelatedInstances" if level == "series"
                          else "NumberOfStudyRelatedInstances"),
        studies=_number(dataset, "NumberOfPatientRelatedStudies"),
    )


RETURN_KEYS = {
    "patient": ("PatientName", "PatientID", "NumberOfPatientRelatedStudies"),
    "study": ("PatientName", "PatientID", "StudyInstanceUID", "StudyDate", "StudyDescription", "AccessionNumber",
              "ModalitiesInStudy", "NumberOfStudyRelatedInstances"),
    "series": ("StudyInstanceUID", "SeriesInstanceUID", "SeriesNumber", "SeriesDescription", "Modality",
               "NumberOfSeriesRelatedInstances"),
}
"""The attributes asked for at each level (returned empty where the node has no value)."""
