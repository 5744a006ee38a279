"""Words and numbers of the timeline panel: values with units, hover readouts, contributor rows.

Times are hours since admission; values are in the variable's own unit (``core.timeline.VARIABLES``).
"""

from __future__ import annotations

import numpy as np

from medstation.core.forecast import Contributor, ForecastPoint, PatientForecast
from medstation.core.timeline import ICU_TYPES, VARIABLES, Timeline

RISK_NAME = "Risk of in-hospital death"


def unit_of(variable: str) -> str:
    """The unit to print after a value ("" where the name already says it, as for pH)."""
    known = VARIABLES.get(variable)
    if known is None or known.unit == variable:
        return ""
    return known.unit


def axis_title(variable: str) -> str:
    """A plot's y label: the variable and its unit, e.g. ``HR (bpm)``."""
    unit = unit_of(variable)
    return f"{variable} ({unit})" if unit else variable


def number(value: float) -> str:
    """A measured value with the precision a reader needs: 88, 36.8, 7.38, 1250."""
    magnitude = abs(value)
    decimals = 0 if magnitude >= 100 else 1 if magnitude >= 10 else 2
    return f"{round(value, decimals):g}"


def with_unit(value: float, variable: str) -> str:
    unit = unit_of(variable)
    return f"{number(value)} {unit}" if unit else number(value)


def hours_text(hour: float) -> str:
    return f"{hour:.1f} h"


def elided(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis where it is longer."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def observed_readout(timeline: Timeline, variable: str, hour: float, tolerance: float) -> str:
    """The observation nearest ``hour`` (within ``tolerance`` hours), else the last one before it."""
    series = timeline.series.get(variable)
    if series is None or not len(series):
        return f"{variable} at {hours_text(hour)}: not measured for this patient"
    nearest = int(np.argmin(np.abs(series.hours - hour)))
    if abs(series.hours[nearest] - hour) <= tolerance:
        return f"{variable} at {hours_text(series.hours[nearest])}: {with_unit(series.values[nearest], variable)}"
    before = np.flatnonzero(series.hours <= hour)
    if not len(before):
        return f"{variable} at {hours_text(hour)}: not yet measured"
    last = before[-1]
    return (
        f"{variable} at {hours_text(hour)}: last measured {with_unit(series.values[last], variable)} "
        f"at {hours_text(series.hours[last])}"
    )


def forecast_readout(variable: str, point: ForecastPoint) -> str:
    """A forecast point: median and 80% interval, with units."""
    unit = unit_of(variable)
    interval = f"{number(point.p10)} to {number(point.p90)}" + (f" {unit}" if unit else "")
    return (
        f"{variable} forecast at {hours_text(point.hour)}: median {with_unit(point.p50, variable)}, "
        f"80% interval {interval}"
    )


def nearest_forecast_point(points: list[ForecastPoint], hour: float) -> ForecastPoint:
    return min(points, key=lambda point: abs(point.hour - hour))


def variable_readout(
    timeline: Timeline, forecast: PatientForecast | None, variable: str, hour: float, tolerance: float
) -> str:
    """What the cursor at ``hour`` shows on a variable's plot: the forecast after the last hour, else observations."""
    points = forecast.forecast.get(variable) if forecast is not None else None
    if points and hour > forecast.last_hour:
        return forecast_readout(variable, nearest_forecast_point(points, hour))
    return observed_readout(timeline, variable, hour, tolerance)


def risk_readout(forecast: PatientForecast | None, hour: float) -> str:
    """The risk at the trajectory point nearest ``hour``, as a probability and a percentage."""
    if forecast is None or not forecast.risk:
        return f"{RISK_NAME}: no forecast yet"
    point_hour, probability = min(forecast.risk, key=lambda point: abs(point[0] - hour))
    return f"{RISK_NAME} at {hours_text(point_hour)}: {probability:.2f} ({probability:.0%})"


def hour_ranges(hours: tuple[int, ...]) -> str:
    """Hours as compact ranges: ``(30, 31, 32, 40)`` -> ``30-32, 40 h``."""
    if not hours:
        return ""
    ordered = sorted(set(hours))
    ranges: list[str] = []
    start = previous = ordered[0]
    for hour in [*ordered[1:], None]:
        if hour is not None and hour == previous + 1:
            previous = hour
            continue
        ranges.append(str(start) if start == previous else f"{start}-{previous}")
        if hour is not None:
            start = previous = hour
    return ", ".join(ranges) + " h"


def contributor_row(contributor: Contributor) -> tuple[str, str, str]:
    """(variable, effect on the risk with its signed attribution, hours that drove it) for the contributors list."""
    direction = "▲ raises" if contributor.attribution > 0 else "▼ lowers"
    return contributor.variable, f"{direction} {contributor.attribution:+.2f}", hour_ranges(contributor.hours)


def variable_description(variable: str) -> str:
    """The variable's full name and unit, e.g. ``Heart rate (bpm)``."""
    known = VARIABLES.get(variable)
    return f"{known.label} ({known.unit})" if known else variable


def patient_summary(timeline: Timeline) -> str:
    """One line about the patient: id, age, sex, unit and how many hours are recorded."""
    parts = [f"Patient {timeline.patient_id}"]
    static = timeline.static
    if "Age" in static:
        parts.append(f"{static['Age']:.0f} y")
    if "Gender" in static:
        parts.append("male" if static["Gender"] == 1 else "female")
    if "ICUType" in static:
        parts.append(ICU_TYPES.get(int(static["ICUType"]), "ICU"))
    parts.append(f"{hours_text(timeline.last_hour)} recorded")
    return " · ".join(parts)
