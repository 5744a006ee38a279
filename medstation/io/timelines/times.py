"""Absolute times on a timeline: ISO-8601 date-times, and hours between two moments.

Sources disagree about time zones: FHIR date-times carry a UTC offset, DICOM dates and many CSV files do not.
Two moments are compared as they are when both carry an offset or neither does; when only one does, the other
is taken to be in the same zone (local times of one hospital).
"""

from __future__ import annotations

from datetime import datetime

MAX_HOURS = 24.0 * 366 * 100
"""No observation lies a century from its admission: a time beyond is a broken row, not data."""
YEARS = (1900, 2199)


class OutOfClinicalRange(ValueError):
    """A well-formed time that no clinical record holds."""


def clinical_moment(moment: datetime) -> datetime:
    """``moment`` if its year is one a clinical record can hold; ``ValueError`` otherwise."""
    if not YEARS[0] <= moment.year <= YEARS[1]:
        raise OutOfClinicalRange(f"date-time {moment.isoformat()} is outside the years {YEARS[0]}-{YEARS[1]}")
    return moment


def clinical_hours(hours: float, text: str) -> float:
    """``hours`` since admission if finite and within a century of it; ``ValueError`` naming ``text`` otherwise."""
    if not abs(hours) <= MAX_HOURS:
        raise OutOfClinicalRange(f"time {text!r} is not within a century of the admission")
    return hours


def parse_iso_datetime(text: str) -> datetime:
    """An ISO-8601 date-time with a time of day (``2025-12-31T18:30``, optional seconds and offset or ``Z``).

    Raises ``ValueError`` for anything else, a date alone included (its hour would be a guess).
    """
    stripped = text.strip()
    if len(stripped) < 16 or stripped[10] not in "T ":
        raise ValueError(f"{text!r} is not an ISO-8601 date-time with a time of day (e.g. 2025-12-31T18:30)")
    if stripped.endswith(("Z", "z")):
        stripped = stripped[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(stripped)
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO-8601 date-time (e.g. 2025-12-31T18:30)") from None
    return clinical_moment(moment)


def hours_between(anchor: datetime, moment: datetime) -> float:
    """Hours from ``anchor`` to ``moment``; a moment without a UTC offset is taken to be in the other's zone."""
    if (anchor.tzinfo is None) != (moment.tzinfo is None):
        moment = moment.replace(tzinfo=anchor.tzinfo if moment.tzinfo is None else None)
    return (moment - anchor).total_seconds() / 3600.0
