"""FHIR R4 timelines: a Bundle (JSON) of Observation resources, or a single Observation.

Each resource is validated with the ``fhir.resources`` R4B models (R4B changed nothing in Observation, Patient
or Encounter from R4), one entry at a time, so a malformed entry is reported and the rest still read.
Observations map to MedStation variables by LOINC code (components too, as in a blood-pressure panel); values
are converted from their UCUM unit. Times are absolute: the anchor is the earliest ``Encounter.period.start`` of
the patient in the bundle, else the earliest observation. Patient resources give Gender and Age (completed years
at the anchor, from ``birthDate``). The patient ID is the Patient resource's ``id`` where the subject reference
points at one in the bundle, else the last part of ``Observation.subject.reference`` (``Patient/123`` -> ``123``).
Bad rows carry the entry's index in ``Bundle.entry`` (0 for a lone Observation) as their line number.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

from medstation.core.timeline import STATIC_VARIABLES, BadRow, ImportReport, Timeline
from medstation.errors import UnreadableInput
from medstation.io.timelines.collector import TimelineCollector
from medstation.io.timelines.patient_selection import missing_patient
from medstation.io.timelines.times import clinical_moment, hours_between
from medstation.progress import CancelToken, ProgressCallback, check_cancelled, report

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
USABLE_STATUSES = ("final", "amended", "corrected", "preliminary")
GENDERS = {"female": 0.0, "male": 1.0}
_CHECK_EVERY = 500

LOINC_VARIABLES: dict[str, str] = {
    "8867-4": "HR",  # Heart rate
    "9279-1": "RespRate",  # Respiratory rate
    "8480-6": "SysABP",  # Systolic blood pressure
    "76215-3": "SysABP",  # Invasive systolic blood pressure
    "8462-4": "DiasABP",  # Diastolic blood pressure
    "76213-8": "DiasABP",  # Invasive diastolic blood pressure
    "8478-0": "MAP",  # Mean blood pressure
    "76214-6": "MAP",  # Invasive mean blood pressure
    "76534-7": "NISysABP",  # Systolic blood pressure by Noninvasive
    "76535-4": "NIDiasABP",  # Diastolic blood pressure by Noninvasive
    "76536-2": "NIMAP",  # Mean blood pressure by Noninvasive
    "8310-5": "Temp",  # Body temperature
    "2708-6": "SaO2",  # Oxygen saturation in Arterial blood
    "59408-5": "SaO2",  # Oxygen saturation in Arterial blood by Pulse oximetry
    "3150-0": "FiO2",  # Inhaled oxygen concentration
    "9269-2": "GCS",  # Glasgow coma score total
    "2345-7": "Glucose",  # Glucose [Mass/volume] in Serum or Plasma
    "2339-0": "Glucose",  # Glucose [Mass/volume] in Blood
    "2524-7": "Lactate",  # Lactate [Moles/volume] in Serum or Plasma
    "32693-4": "Lactate",  # Lactate [Moles/volume] in Blood
    "2160-0": "Creatinine",  # Creatinine [Mass/volume] in Serum or Plasma
    "14682-9": "Creatinine",  # Creatinine [Moles/volume] in Serum or Plasma
    "2951-2": "Na",  # Sodium [Moles/volume] in Serum or Plasma
    "2823-3": "K",  # Potassium [Moles/volume] in Serum or Plasma
    "1963-8": "HCO3",  # Bicarbonate [Moles/volume] in Serum or Plasma
    "19123-9": "Mg",  # Magnesium [Mass/volume] in Serum or Plasma
    "2601-3": "Mg",  # Magnesium [Moles/volume] in Serum or Plasma
    "3094-0": "BUN",  # Urea nitrogen [Mass/volume] in Serum or Plasma
    "6690-2": "WBC",  # Leukocytes [#/volume] in Blood by Automated count
    "4544-3": "HCT",  # Hematocrit [Volume Fraction] of Blood by Automated count
    "777-3": "Platelets",  # Platelets [#/volume] in Blood by Automated count
    "2744-1": "pH",  # pH of Arterial blood
    "2019-8": "PaCO2",  # Carbon dioxide [Partial pressure] in Arterial blood
    "2703-7": "PaO2",  # Oxygen [Partial pressure] in Arterial blood
    "1751-7": "Albumin",  # Albumin [Mass/volume] in Serum or Plasma
    "6768-6": "ALP",  # Alkaline phosphatase [Enzymatic activity/volume] in Serum or Plasma
    "1742-6": "ALT",  # Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma
    "1920-8": "AST",  # Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma
    "1975-2": "Bilirubin",  # Bilirubin.total [Mass/volume] in Serum or Plasma
    "2093-3": "Cholesterol",  # Cholesterol [Mass/volume] in Serum or Plasma
    "10839-9": "TroponinI",  # Troponin I.cardiac [Mass/volume] in Serum or Plasma
    "6598-7": "TroponinT",  # Troponin T.cardiac [Mass/volume] in Serum or Plasma
    "9187-6": "Urine",  # Urine output
    "29463-7": "Weight",  # Body weight
    "8302-2": "Height",  # Body height
}
"""LOINC codes read, each checked against LOINC's name for it."""


def is_fhir_document(document: object) -> bool:
    return isinstance(document, dict) and document.get("resourceType") in ("Bundle", "Observation")


def _models():
    from fhir.resources.R4B.encounter import Encounter
    from fhir.resources.R4B.observation import Observation
    from fhir.resources.R4B.patient import Patient

    return {"Observation": Observation, "Patient": Patient, "Encounter": Encounter}


def _invalid(kind: str, error: Exception) -> str:
    problems = getattr(error, "errors", lambda: [])()
    details = "; ".join(
        f"{'.'.join(str(part) for part in problem['loc']) or kind}: {problem['msg']}" for problem in problems[:3]
    )
    return f"{kind} is not valid FHIR R4 ({details or error})"


def _entries(document: dict, path: Path) -> list:
    if document.get("resourceType") == "Observation":
        return [{"resource": document}]
    entries = document.get("entry", [])
    if not isinstance(entries, list):
        raise UnreadableInput(f"{path}: Bundle.entry must be a list of entries")
    return entries


def _reference_id(reference: str, patient_ids: dict[str, str]) -> str:
    if reference in patient_ids:
        return patient_ids[reference]
    if "Patient/" in reference:
        return reference.rsplit("Patient/", 1)[1].split("/_history/")[0]
    return reference.removeprefix("urn:uuid:")


def _effective(observation) -> datetime:
    moment = observation.effectiveDateTime or observation.effectiveInstant
    if moment is None and observation.effectivePeriod is not None:
        moment = observation.effectivePeriod.start
    if moment is None:
        raise ValueError("no effectiveDateTime or effectivePeriod.start: the observation cannot be placed in time")
    if not isinstance(moment, datetime):
        raise ValueError(f"effective time {moment} has no time of day")
    return clinical_moment(moment)


def _loinc_codes(concept) -> list[str]:
    return [coding.code for coding in (concept.coding or []) if coding.system == LOINC and coding.code]


def _variable(concept) -> str | None:
    """The variable of the first LOINC coding MedStation reads, if any."""
    return next((LOINC_VARIABLES[code] for code in _loinc_codes(concept) if code in LOINC_VARIABLES), None)


def _unit(quantity) -> str:
    if quantity.system == UCUM and quantity.code:
        return quantity.code
    return quantity.unit or quantity.code or ""


class _BundleReader:
    """One pass over a bundle's entries, filling a collector and a report."""

    def __init__(self, source: str, patient: str | None):
        self.source = source
        self.wanted = patient
        self.report = ImportReport()
        self.collector = TimelineCollector(source, self.report)
        self.found: dict[str, None] = {}
        self.birth_dates: dict[str, date] = {}
        self.admissions: dict[str, datetime] = {}

    def bad(self, index: int, reason: str) -> None:
        self.report.bad_rows.append(BadRow(self.source, index, f"entry {index}: {reason}"))

    def wants(self, patient_id: str) -> bool:
        if self.wanted is None or patient_id == self.wanted:
            return True
        self.found[patient_id] = None
        return False

    def patient(self, index: int, resource) -> None:
        if not resource.id:
            self.bad(index, "Patient has no id; its sex and age are not used")
            return
        if not self.wants(resource.id):
            return
        if resource.gender in GENDERS:
            self.collector.add(resource.id, "Gender", 0.0, GENDERS[resource.gender])
        if isinstance(resource.birthDate, date):
            self.birth_dates[resource.id] = resource.birthDate

    def encounter(self, index: int, resource, patient_ids: dict[str, str]) -> None:
        if resource.subject is None or not resource.subject.reference:
            self.bad(index, "Encounter has no subject reference; not used")
            return
        patient_id = _reference_id(resource.subject.reference, patient_ids)
        if not self.wants(patient_id):
            return
        start = resource.period.start if resource.period is not None else None
        if not isinstance(start, datetime):
            self.bad(index, "Encounter has no period.start date-time; not used for the admission time")
            return
        earlier = self.admissions.get(patient_id)
        if earlier is None or hours_between(earlier, start) < 0:
            self.admissions[patient_id] = start
            self.collector.set_anchor(patient_id, start)

    def observation(self, index: int, resource, patient_ids: dict[str, str]) -> None:
        if resource.subject is None or not resource.subject.reference:
            self.report.rows += 1
            self.bad(index, "Observation has no subject reference: whose is it?")
            return
        patient_id = _reference_id(resource.subject.reference, patient_ids)
        if not self.wants(patient_id):
            return
        self.report.rows += 1
        if resource.status not in USABLE_STATUSES:
            self.bad(index, f"Observation status is {resource.status!r}; only {', '.join(USABLE_STATUSES)} are used")
            return
        try:
            when = _effective(resource)
        except ValueError as error:
            self.bad(index, f"Observation: {error}")
            return
        parts = [resource, *(resource.component or [])]
        mapped = [(part, variable) for part in parts if (variable := _variable(part.code)) is not None]
        if not mapped:
            codes = [code for part in parts for code in _loinc_codes(part.code)] or ["none"]
            self.bad(index, f"Observation has no LOINC code MedStation reads (LOINC codes: {', '.join(codes)})")
            return
        for part, variable in mapped:
            quantity = part.valueQuantity
            if quantity is None or quantity.value is None:
                if part.dataAbsentReason is not None:
                    self.report.missing += 1
                else:
                    self.bad(index, f"{variable}: the value is not a Quantity with a number")
                continue
            try:
                self.collector.add(patient_id, variable, when, float(quantity.value), _unit(quantity))
            except ValueError as error:
                self.bad(index, str(error))

    def timelines(self) -> list[Timeline]:
        timelines = self.collector.timelines()
        age = STATIC_VARIABLES["Age"]
        for timeline in timelines:
            born = self.birth_dates.get(timeline.patient_id)
            if born is None or timeline.anchor is None:
                continue
            admitted = timeline.anchor.date()
            years = admitted.year - born.year - ((admitted.month, admitted.day) < (born.month, born.day))
            if age.plausible(years):
                timeline.static["Age"] = float(years)
            else:
                self.report.count_out_of_range("Age")
        return timelines


def read_fhir_timelines(
    path: str | Path,
    patient: str | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken = None,
) -> tuple[list[Timeline], ImportReport]:
    """The patients of a FHIR R4 Bundle or Observation (JSON file), only ``patient`` when given."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as error:
        raise UnreadableInput(f"{path}: cannot read the FHIR file ({error})") from None
    except json.JSONDecodeError as error:
        where = f"line {error.lineno}, column {error.colno}"
        raise UnreadableInput(f"{path}: not valid JSON ({where}: {error.msg}); check the file is complete") from None
    except (ValueError, RecursionError) as error:
        raise UnreadableInput(f"{path}: JSON that cannot be read safely ({error})") from None
    if not is_fhir_document(document):
        kind = document.get("resourceType") if isinstance(document, dict) else type(document).__name__
        raise UnreadableInput(f"{path}: a FHIR {kind!s}; MedStation reads a Bundle of Observations or one Observation")
    entries = _entries(document, path)
    models = _models()
    reader = _BundleReader(str(path), patient)
    resources: dict[str, list[tuple[int, object]]] = {kind: [] for kind in models}
    patient_ids: dict[str, str] = {}
    for index, entry in enumerate(entries):
        if index % _CHECK_EVERY == 0:
            check_cancelled(cancel)
            report(progress, 0.5 * index / len(entries), f"checked {index} entries")
        resource = entry.get("resource") if isinstance(entry, dict) else None
        kind = resource.get("resourceType") if isinstance(resource, dict) else None
        if kind not in models:
            reader.bad(index, f"entry holds {kind or 'no resource'}; MedStation reads Observation, Patient, Encounter")
            continue
        try:
            model = models[kind].model_validate(resource)
        except (ValueError, TypeError) as error:
            reader.bad(index, _invalid(kind, error))
            continue
        resources[kind].append((index, model))
        if kind == "Patient" and model.id:
            patient_ids[f"Patient/{model.id}"] = model.id
            if isinstance(entry.get("fullUrl"), str):
                patient_ids[entry["fullUrl"]] = model.id
    for index, resource in resources["Patient"]:
        reader.patient(index, resource)
    for index, resource in resources["Encounter"]:
        reader.encounter(index, resource, patient_ids)
    for number, (index, resource) in enumerate(resources["Observation"]):
        if number % _CHECK_EVERY == 0:
            check_cancelled(cancel)
            report(progress, 0.5 + 0.5 * number / len(resources["Observation"]), f"read {number} observations")
        reader.observation(index, resource, patient_ids)
    timelines = reader.timelines()
    if not timelines:
        if patient is not None and reader.report.rows == 0:
            raise missing_patient(path, patient, reader.found)
        problem = f" (first problem: {reader.report.bad_rows[0]})" if reader.report.bad_rows else ""
        raise UnreadableInput(f"{path}: no usable observations{problem}")
    return timelines, reader.report
