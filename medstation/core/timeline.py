"""One patient's timeline: static attributes, irregular time series of named variables, and events.

Times are hours since the admission anchor. ``Timeline.anchor`` is the absolute admission date-time when the
source gives one (CSV, FHIR); only then can imaging studies, which carry absolute dates, be placed on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np


@dataclass(frozen=True)
class Variable:
    """A measured quantity: its unit and the range of values that are physically plausible."""

    name: str
    unit: str
    low: float
    high: float
    label: str

    def plausible(self, value: float) -> bool:
        return self.low <= value <= self.high


def _variables(*rows: tuple[str, str, float, float, str]) -> dict[str, Variable]:
    return {row[0]: Variable(*row) for row in rows}


VARIABLES: dict[str, Variable] = _variables(
    ("Albumin", "g/dL", 0.5, 8.0, "Albumin"),
    ("ALP", "IU/L", 1.0, 5000.0, "Alkaline phosphatase"),
    ("ALT", "IU/L", 1.0, 20000.0, "Alanine transaminase"),
    ("AST", "IU/L", 1.0, 20000.0, "Aspartate transaminase"),
    ("Bilirubin", "mg/dL", 0.0, 80.0, "Bilirubin"),
    ("BUN", "mg/dL", 0.5, 300.0, "Blood urea nitrogen"),
    ("Cholesterol", "mg/dL", 10.0, 1000.0, "Cholesterol"),
    ("Creatinine", "mg/dL", 0.05, 30.0, "Creatinine"),
    ("DiasABP", "mmHg", 5.0, 250.0, "Invasive diastolic blood pressure"),
    ("FiO2", "fraction", 0.21, 1.0, "Fraction of inspired oxygen"),
    ("GCS", "points", 3.0, 15.0, "Glasgow Coma Score"),
    ("Glucose", "mg/dL", 10.0, 2000.0, "Serum glucose"),
    ("HCO3", "mmol/L", 1.0, 60.0, "Serum bicarbonate"),
    ("HCT", "%", 5.0, 75.0, "Haematocrit"),
    ("HR", "bpm", 1.0, 300.0, "Heart rate"),
    ("K", "mEq/L", 1.0, 12.0, "Serum potassium"),
    ("Lactate", "mmol/L", 0.1, 40.0, "Lactate"),
    ("Mg", "mg/dL", 0.2, 10.0, "Serum magnesium (PhysioNet 2012 documents mmol/L; its values, median 2.0, are mg/dL)"),
    ("MAP", "mmHg", 10.0, 250.0, "Invasive mean arterial pressure"),
    ("MechVent", "flag", 0.0, 1.0, "Mechanical ventilation"),
    ("Na", "mEq/L", 90.0, 200.0, "Serum sodium"),
    ("NIDiasABP", "mmHg", 5.0, 250.0, "Non-invasive diastolic blood pressure"),
    ("NIMAP", "mmHg", 10.0, 250.0, "Non-invasive mean arterial pressure"),
    ("NISysABP", "mmHg", 20.0, 300.0, "Non-invasive systolic blood pressure"),
    ("PaCO2", "mmHg", 5.0, 200.0, "Arterial CO2 partial pressure"),
    ("PaO2", "mmHg", 10.0, 800.0, "Arterial O2 partial pressure"),
    ("pH", "pH", 6.5, 8.0, "Arterial pH"),
    ("Platelets", "10^9/L", 1.0, 2000.0, "Platelets"),
    ("RespRate", "breaths/min", 1.0, 100.0, "Respiration rate"),
    ("SaO2", "%", 20.0, 100.0, "Arterial O2 saturation"),
    ("SysABP", "mmHg", 20.0, 300.0, "Invasive systolic blood pressure"),
    ("Temp", "°C", 25.0, 45.0, "Temperature"),
    ("TroponinI", "µg/L", 0.0, 500.0, "Troponin I"),
    ("TroponinT", "µg/L", 0.0, 500.0, "Troponin T"),
    ("Urine", "mL", 0.0, 5000.0, "Urine output"),
    ("WBC", "10^9/L", 0.1, 500.0, "White blood cell count"),
    ("Weight", "kg", 20.0, 300.0, "Weight"),
)
"""The time-varying variables of the PhysioNet 2012 record format, with units and plausible ranges."""

STATIC_VARIABLES: dict[str, Variable] = _variables(
    ("Age", "years", 15.0, 120.0, "Age"),
    ("Gender", "0 female / 1 male", 0.0, 1.0, "Sex"),
    ("Height", "cm", 100.0, 250.0, "Height"),
    ("ICUType", "1-4", 1.0, 4.0, "ICU type"),
    ("Weight", "kg", 20.0, 300.0, "Weight at admission"),
)
"""Attributes recorded once at admission."""

ICU_TYPES = {1: "Coronary care", 2: "Cardiac surgery recovery", 3: "Medical ICU", 4: "Surgical ICU"}


@dataclass
class TimeSeries:
    """Observations of one variable: hours since the anchor (ascending) and values in the variable's unit."""

    variable: str
    hours: np.ndarray
    values: np.ndarray

    def __post_init__(self) -> None:
        self.hours = np.asarray(self.hours, dtype=np.float64)
        self.values = np.asarray(self.values, dtype=np.float64)
        if self.hours.shape != self.values.shape or self.hours.ndim != 1:
            raise ValueError(f"{self.variable}: hours and values must be 1-D arrays of the same length")
        order = np.argsort(self.hours, kind="stable")
        self.hours, self.values = self.hours[order], self.values[order]

    def __len__(self) -> int:
        return len(self.hours)

    def until(self, hour: float) -> TimeSeries:
        """The observations at or before ``hour``."""
        keep = self.hours <= hour
        return TimeSeries(self.variable, self.hours[keep], self.values[keep])


@dataclass(frozen=True)
class Event:
    """Something that happened at one time: an imaging study, an admission, a note."""

    hour: float
    kind: str
    label: str
    reference: str = ""
    """What opens it: for a study, the path or StudyInstanceUID the viewer can open."""


@dataclass
class Timeline:
    """One patient's timeline on one time axis (hours since the admission anchor)."""

    patient_id: str
    static: dict[str, float] = field(default_factory=dict)
    series: dict[str, TimeSeries] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    anchor: datetime | None = None
    source: str = ""

    @property
    def last_hour(self) -> float:
        """The time of the last observation (0 when there is none)."""
        ends = [float(s.hours[-1]) for s in self.series.values() if len(s)]
        return max(ends, default=0.0)

    def hour_of(self, moment: datetime) -> float:
        """Hours from the anchor to an absolute date-time; needs an absolute anchor."""
        if self.anchor is None:
            raise ValueError(f"patient {self.patient_id}: the timeline has no absolute admission time")
        return (moment - self.anchor).total_seconds() / 3600.0

    def until(self, hour: float) -> Timeline:
        """The same patient as known at ``hour``: later observations and events left out."""
        return Timeline(
            self.patient_id,
            dict(self.static),
            {name: s.until(hour) for name, s in self.series.items()},
            [e for e in self.events if e.hour <= hour],
            self.anchor,
            self.source,
        )


@dataclass
class BadRow:
    """A row that could not be used, with where it came from and why."""

    source: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.reason}"


@dataclass
class ImportReport:
    """What an import read, and everything it did not use."""

    rows: int = 0
    observations: int = 0
    missing: int = 0
    """Values the source marks as missing (PhysioNet's -1)."""
    out_of_range: dict[str, int] = field(default_factory=dict)
    """Per variable, values outside its plausible range; they are left out of the timeline."""
    bad_rows: list[BadRow] = field(default_factory=list)

    def count_out_of_range(self, variable: str) -> None:
        self.out_of_range[variable] = self.out_of_range.get(variable, 0) + 1

    def merge(self, other: ImportReport) -> None:
        self.rows += other.rows
        self.observations += other.observations
        self.missing += other.missing
        for name, count in other.out_of_range.items():
            self.out_of_range[name] = self.out_of_range.get(name, 0) + count
        self.bad_rows.extend(other.bad_rows)

    def summary(self) -> str:
        text = f"{self.rows} rows, {self.observations} observations used, {self.missing} marked missing"
        if self.out_of_range:
            flagged = ", ".join(f"{name} {count}" for name, count in sorted(self.out_of_range.items()))
            text += f"; out of plausible range (left out): {flagged}"
        if self.bad_rows:
            text += f"; {len(self.bad_rows)} bad rows (first: {self.bad_rows[0]})"
        return text
