"""Write the sample timelines (``medstation/data/resources/sample/timelines``) from the PhysioNet Challenge 2012
set-b archive, identically on every run.

Four records are copied byte for byte, with their rows of Outcomes-b.txt. One of them is also written as a long
CSV and as a FHIR R4 Bundle, placed at an absolute admission time so that imaging studies can be placed on it:

    python packaging/make_sample_timelines.py [../shared/data/physionet2012]
"""

from __future__ import annotations

import json
import sys
import tarfile
from datetime import datetime, timedelta
from pathlib import Path

from medstation.core.timeline import STATIC_VARIABLES, VARIABLES

RECORDS = ("145466", "150848", "147135", "152591")
"""Rich records (many HR, MAP, Temp and Lactate values): 145466 and 152591 survived, 150848 and 147135 died."""
CONVERTED = "145466"
PATIENT_ID = "MEDSTATION-SAMPLE"
"""The converted examples use the sample study's patient ID, so the workstation shows that study on the timeline."""
ADMISSION = datetime(2025, 12, 31, 18, 0)
"""Six hours before the sample study (2026-01-01 00:00)."""
STATIC = ("Age", "Gender", "Height", "ICUType")
TARGET = Path(__file__).resolve().parents[1] / "medstation" / "data" / "resources" / "sample" / "timelines"

# Variable -> (LOINC code, UCUM unit of the PhysioNet value); FiO2 is a fraction in PhysioNet, a % in LOINC 3150-0.
FHIR_CODES = {
    "HR": ("8867-4", "/min"), "RespRate": ("9279-1", "/min"), "SysABP": ("76215-3", "mm[Hg]"),
    "DiasABP": ("76213-8", "mm[Hg]"), "MAP": ("76214-6", "mm[Hg]"), "NISysABP": ("76534-7", "mm[Hg]"),
    "NIDiasABP": ("76535-4", "mm[Hg]"), "NIMAP": ("76536-2", "mm[Hg]"), "Temp": ("8310-5", "Cel"),
    "SaO2": ("2708-6", "%"), "FiO2": ("3150-0", "%"), "GCS": ("9269-2", "{score}"), "Glucose": ("2345-7", "mg/dL"),
    "Lactate": ("32693-4", "mmol/L"), "Creatinine": ("2160-0", "mg/dL"), "Na": ("2951-2", "mmol/L"),
    "K": ("2823-3", "mmol/L"), "HCO3": ("1963-8", "mmol/L"), "BUN": ("3094-0", "mg/dL"),
    "WBC": ("6690-2", "10*3/uL"), "HCT": ("4544-3", "%"), "Platelets": ("777-3", "10*3/uL"),
    "pH": ("2744-1", "[pH]"), "PaCO2": ("2019-8", "mm[Hg]"), "PaO2": ("2703-7", "mm[Hg]"),
    "Albumin": ("1751-7", "g/dL"), "ALP": ("6768-6", "U/L"), "ALT": ("1742-6", "U/L"), "AST": ("1920-8", "U/L"),
    "Bilirubin": ("1975-2", "mg/dL"), "Cholesterol": ("2093-3", "mg/dL"), "TroponinI": ("10839-9", "ug/L"),
    "TroponinT": ("6598-7", "ug/L"), "Urine": ("9187-6", "mL"), "Weight": ("29463-7", "kg"),
    "Height": ("8302-2", "cm"),
}


def record_rows(text: str) -> list[tuple[datetime, str, str]]:
    """``(absolute time, parameter, value text)`` of a record's rows, RecordID left out."""
    rows = []
    for line in text.splitlines()[1:]:
        stamp, name, value = line.strip().split(",")
        if name == "RecordID":
            continue
        hours, minutes = stamp.split(":")
        rows.append((ADMISSION + timedelta(hours=int(hours), minutes=int(minutes)), name, value))
    return rows


def unit_of(name: str) -> str:
    return (VARIABLES.get(name) or STATIC_VARIABLES[name]).unit


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")


def _number(text: str) -> float | int:
    value = float(text)
    return int(value) if value.is_integer() else value


def long_csv(rows: list[tuple[datetime, str, str]]) -> str:
    """The record as ``patient_id,time,variable,value,unit``; -1 (missing) becomes an empty value."""
    lines = ["patient_id,time,variable,value,unit", f"{PATIENT_ID},{_iso(ADMISSION)},Admission,,"]
    for moment, name, value in rows:
        shown = "" if value == "-1" else value
        lines.append(f"{PATIENT_ID},{_iso(moment)},{name},{shown},{unit_of(name)}")
    return "\n".join(lines) + "\n"


def _patient(rows: list[tuple[datetime, str, str]]) -> dict:
    static = {name: value for _, name, value in rows if name in STATIC}
    age = int(float(static["Age"]))
    # The record gives age in whole years only: the day after the admission date, age + 1 years earlier, gives
    # exactly that age at admission.
    day_after = (ADMISSION + timedelta(days=1)).date()
    born = day_after.replace(year=day_after.year - age - 1)
    patient = {"resourceType": "Patient", "id": PATIENT_ID, "birthDate": born.isoformat()}
    if static.get("Gender") in ("0", "1"):
        patient["gender"] = "female" if static["Gender"] == "0" else "male"
    return patient


def _observation(number: int, moment: datetime, name: str, value: str) -> dict:
    code, unit = FHIR_CODES[name]
    observation = {
        "resourceType": "Observation",
        "id": f"obs-{number}",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code}], "text": name},
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "effectiveDateTime": _iso(moment) + ":00Z",
    }
    if value == "-1":
        observation["dataAbsentReason"] = {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason", "code": "unknown"}]
        }
        return observation
    amount = float(value) * 100 if name == "FiO2" else float(value)
    observation["valueQuantity"] = {
        "value": _number(f"{amount:.6g}"), "unit": unit, "system": "http://unitsofmeasure.org", "code": unit,
    }
    return observation


def fhir_bundle(rows: list[tuple[datetime, str, str]]) -> str:
    """The record as a FHIR R4 collection Bundle: Patient, Encounter, one Observation per LOINC-coded row."""
    encounter = {
        "resourceType": "Encounter",
        "id": "icu-stay",
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "period": {"start": _iso(ADMISSION) + ":00Z"},
    }
    resources = [_patient(rows), encounter]
    resources += [
        _observation(number, moment, name, value)
        for number, (moment, name, value) in enumerate(rows)
        if name in FHIR_CODES and not (name == "Height" and value == "-1")
    ]
    entries = ",\n".join(json.dumps({"resource": resource}, ensure_ascii=False) for resource in resources)
    return f'{{"resourceType": "Bundle", "type": "collection", "entry": [\n{entries}\n]}}\n'


def main(data: Path) -> None:
    TARGET.mkdir(parents=True, exist_ok=True)
    with tarfile.open(data / "set-b.tar.gz") as archive:
        texts = {record: archive.extractfile(f"set-b/{record}.txt").read() for record in RECORDS}
    for record, data_bytes in texts.items():
        (TARGET / f"{record}.txt").write_bytes(data_bytes)
    outcomes = (data / "Outcomes-b.txt").read_bytes().splitlines(keepends=True)
    kept = [line for line in outcomes[1:] if line.split(b",")[0].decode() in RECORDS]
    (TARGET / "outcomes.txt").write_bytes(b"".join([outcomes[0], *kept]))
    rows = record_rows(texts[CONVERTED].decode("utf-8"))
    (TARGET / f"{CONVERTED}-long.csv").write_text(long_csv(rows), encoding="utf-8")
    (TARGET / f"{CONVERTED}-fhir.json").write_text(fhir_bundle(rows), encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared" / "data" /
         "physionet2012")
