"""The error for a patient asked for by ID that a timeline file does not hold."""

from __future__ import annotations

from collections.abc import Iterable

from medstation.errors import UnreadableInput

SHOWN_IDS = 10


def missing_patient(source: object, patient: str, found: Iterable[str]) -> UnreadableInput:
    """An error naming ``source``, the ID asked for, and (the first few of) the IDs it does hold."""
    ids = list(dict.fromkeys(found))
    listed = ", ".join(ids[:SHOWN_IDS]) + (f", … ({len(ids)} in all)" if len(ids) > SHOWN_IDS else "")
    return UnreadableInput(
        f"{source}: no patient {patient!r}; the patient IDs found are {listed or 'none'}. Use one of them."
    )
