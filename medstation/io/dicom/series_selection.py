"""Pick one series of a scan by the user's ``--series`` value: a SeriesNumber, a part, or a UID."""

from __future__ import annotations

from medstation.errors import UnreadableInput
from medstation.io.dicom.series import ScanResult, SeriesRecord, largest_series


def _matches(series: SeriesRecord, selector: str) -> bool:
    return series.identity.series_uid == selector or str(series.identity.series_number) == selector


def select_series(scan: ScanResult, selector: str | None, source: str = "") -> SeriesRecord:
    """The series ``selector`` names (``N``, ``N.P`` for part P of a split series, or a UID); largest if None."""
    if selector is None:
        return largest_series(scan, source)
    matches = [series for series in scan.series if _matches(series, selector)]
    if not matches and "." in selector:
        base, _, part = selector.rpartition(".")
        candidates = [series for series in scan.series if _matches(series, base)]
        if part.isdigit() and 1 <= int(part) <= len(candidates):
            return candidates[int(part) - 1]
    if len(matches) == 1:
        return matches[0]
    where = f"{source}: " if source else ""
    if not matches:
        available = ", ".join(sorted({str(s.identity.series_number) for s in scan.series})) or "none"
        raise UnreadableInput(f"{where}no series {selector!r} (series numbers found: {available})")
    parts = ", ".join(f"{selector}.{n} ({s.label})" for n, s in enumerate(matches, start=1))
    raise UnreadableInput(f"{where}series {selector!r} has {len(matches)} parts; choose one of {parts}")
