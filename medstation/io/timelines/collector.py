"""Observations of many patients gathered row by row (CSV rows, FHIR entries), then made into timelines.

Each value is converted to its variable's unit and checked against the variable's plausible range on the way
in; the counts go into the import report. Times are either hours since admission (numbers) or absolute
date-times; with date-times the anchor is the admission time the source gives, else the patient's earliest time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from medstation.core.timeline import STATIC_VARIABLES, VARIABLES, ImportReport, Timeline, TimeSeries
from medstation.io.timelines.times import hours_between
from medstation.io.timelines.units import to_variable_unit

_NAMES = {name.casefold(): name for name in {*VARIABLES, *STATIC_VARIABLES}}


def variable_name(text: str) -> str:
    """The MedStation name of a variable given in any case (``hr`` -> ``HR``); ``ValueError`` if unknown."""
    name = _NAMES.get(text.strip().casefold())
    if name is None:
        known = ", ".join(sorted({*VARIABLES, *STATIC_VARIABLES}, key=str.casefold))
        raise ValueError(f"unknown variable {text.strip()!r} (known, in any case: {known})")
    return name


@dataclass
class _Patient:
    static: dict[str, float] = field(default_factory=dict)
    observed: dict[str, list[tuple[float | datetime, float]]] = field(default_factory=dict)
    moments: list[datetime] = field(default_factory=list)
    anchor: datetime | None = None


class TimelineCollector:
    """Patients' observations in arrival order; :meth:`timelines` puts each on its hours-since-admission axis."""

    def __init__(self, source: str, report: ImportReport):
        self.source = source
        self.report = report
        self.patients: dict[str, _Patient] = {}

    def _patient(self, patient_id: str) -> _Patient:
        return self.patients.setdefault(patient_id, _Patient())

    def add(self, patient_id: str, variable: str, when: float | datetime, value: float, unit: str = "") -> None:
        """One value of ``variable`` (a MedStation name) in ``unit``; ``ValueError`` if the unit is not accepted.

        Values outside the variable's plausible range are counted in the report and left out. Age, Gender, Height
        and ICUType are static; Weight is a series, and its value at admission (hour 0 or before) is static too.
        """
        value = to_variable_unit(variable, value, unit)
        patient = self._patient(patient_id)
        if isinstance(when, datetime):
            patient.moments.append(when)
        static_only = variable not in VARIABLES
        definition = STATIC_VARIABLES[variable] if static_only else VARIABLES[variable]
        if not definition.plausible(value):
            self.report.count_out_of_range(variable)
            return
        if static_only:
            patient.static.setdefault(variable, value)
        else:
            patient.observed.setdefault(variable, []).append((when, value))
            self.report.observations += 1

    def set_anchor(self, patient_id: str, moment: datetime) -> None:
        self._patient(patient_id).anchor = moment

    def timelines(self) -> list[Timeline]:
        return [self._timeline(patient_id, patient) for patient_id, patient in self.patients.items()]

    def _timeline(self, patient_id: str, patient: _Patient) -> Timeline:
        anchor = patient.anchor
        if anchor is None and patient.moments:
            first = patient.moments[0]
            anchor = min(patient.moments, key=lambda moment: hours_between(first, moment))
        series = {}
        for variable, rows in patient.observed.items():
            hours = [hours_between(anchor, when) if isinstance(when, datetime) else when for when, _ in rows]
            series[variable] = TimeSeries(variable, hours, [value for _, value in rows])
        static = dict(patient.static)
        weight = series.get("Weight")
        if weight is not None and "Weight" not in static and len(weight.until(0.0)):
            static["Weight"] = float(weight.until(0.0).values[-1])
        return Timeline(patient_id, static, series, anchor=anchor, source=self.source)
