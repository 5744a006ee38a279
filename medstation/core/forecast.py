"""What a forecaster says about one patient: the trend ahead with its interval, the risk, and why."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ForecastPoint:
    """The forecast of one variable at one future hour: median and the 80% interval, in the variable's unit."""

    hour: float
    p10: float
    p50: float
    p90: float


@dataclass(frozen=True)
class Contributor:
    """A variable and the hours whose values moved the risk, with the summed attribution (positive raises it)."""

    variable: str
    attribution: float
    hours: tuple[int, ...]


@dataclass
class PatientForecast:
    """Risk trajectory (hour, probability of in-hospital death), trend forecasts and the risk's top drivers."""

    patient_id: str
    last_hour: float
    risk: list[tuple[float, float]] = field(default_factory=list)
    forecast: dict[str, list[ForecastPoint]] = field(default_factory=dict)
    contributors: list[Contributor] = field(default_factory=list)

    def to_json(self) -> dict:
        """The ``forecast --json`` form of one patient (docs/design.md §3)."""
        return {
            "id": self.patient_id,
            "last_hour": self.last_hour,
            "risk": [[hour, p] for hour, p in self.risk],
            "forecast": {
                name: [{"hour": q.hour, "p10": q.p10, "p50": q.p50, "p90": q.p90} for q in points]
                for name, points in self.forecast.items()
            },
            "contributors": [
                {"variable": c.variable, "attribution": c.attribution, "hours": list(c.hours)}
                for c in self.contributors
            ],
        }
