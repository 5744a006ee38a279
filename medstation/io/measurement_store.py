"""The reader's measurements, kept per series in the user data folder so they are there when the series reopens.

One JSON file per series (``measurements/<SeriesInstanceUID>.json``) holds the series' study UID and the
measurement records of :func:`medstation.core.measurements.measurement_record`. They are kept beside the study
index, not in it: the index can be rebuilt from the image files at any time, the measurements are the reader's
work. Writes are atomic (a temporary file replaced in one step); a damaged file is reported and never overwritten
without being kept beside it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from pathlib import Path

from medstation.atomic_files import write_text_atomically
from medstation.errors import UnreadableInput
from medstation.paths import user_data_dir

FOLDER_NAME = "measurements"
_UID = re.compile(r"^[0-9][0-9.]{0,63}$")


class MeasurementStore:
    """Saved measurement records of DICOM series, by SeriesInstanceUID."""

    def __init__(self, folder: str | os.PathLike | None = None):
        self.folder = Path(folder) if folder is not None else user_data_dir() / FOLDER_NAME

    def _path(self, series_uid: str) -> Path:
        name = series_uid if _UID.match(series_uid) else hashlib.sha256(series_uid.encode()).hexdigest()
        return self.folder / f"{name}.json"

    def load(self, series_uid: str) -> list[dict]:
        """The records saved for ``series_uid`` (empty when there are none).

        Raises
        ------
        UnreadableInput
            When the series' file exists but is not one this store wrote (damaged), naming it.
        """
        path = self._path(series_uid)
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as error:
            raise UnreadableInput(f"{path}: saved measurements cannot be read ({error})") from error
        belongs = isinstance(document, dict) and document.get("series_uid") == series_uid
        if not belongs or not isinstance(document.get("measurements"), list):
            raise UnreadableInput(f"{path}: saved measurements of another series or damaged")
        return document["measurements"]

    def save(self, series_uid: str, study_uid: str, records: list[dict]) -> None:
        """Replace the records of ``series_uid`` (no records: forget the series) in one atomic step."""
        path = self._path(series_uid)
        self._keep_if_damaged(series_uid, path)
        if not records:
            path.unlink(missing_ok=True)
            return
        document = {"series_uid": series_uid, "study_uid": study_uid, "measurements": records}
        write_text_atomically(path, json.dumps(document, indent=1))

    def _keep_if_damaged(self, series_uid: str, path: Path) -> None:
        """Move a damaged file of the series aside (``.damaged-<time>``) before it is replaced."""
        try:
            self.load(series_uid)
        except UnreadableInput:
            os.replace(path, path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}"))

    def saved_counts(self) -> dict[str, int]:
        """``{SeriesInstanceUID: number of measurements}`` of every series with saved measurements (damaged files
        left out); one pass over the folder, for the study browser's listing."""
        counts: dict[str, int] = {}
        for path in self.folder.glob("*.json") if self.folder.is_dir() else ():
            try:
                document = json.loads(path.read_text(encoding="utf-8"))
                counts[str(document["series_uid"])] = len(document["measurements"])
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return counts

    def count(self, series_uid: str) -> int:
        """How many measurements are saved for ``series_uid`` (0 when none or unreadable)."""
        try:
            return len(self.load(series_uid))
        except UnreadableInput:
            return 0
