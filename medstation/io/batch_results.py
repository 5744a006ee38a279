"""A batch job's results streamed to one file, CSV or JSON Lines, chunk by chunk, and resumable after a kill.

While the job runs its rows go to ``OUT.partial`` beside ``OUT``, each chunk's rows in one write, flushed and synced
to disk before the next chunk starts, so the rows written so far can be read (``tail -f``) and survive a killed
process or a power cut; ``OUT.partial.json`` says which job they belong to (the model, the input and the options
that change the rows). When the job ends, ``OUT.partial`` is renamed to ``OUT`` and the description removed: ``OUT``
appears complete or not at all.

A rerun with ``resume=True`` continues ``OUT.partial``: a row cut short by a kill (its line not ended) is dropped,
the keys of the complete rows are what is done, and the job description must match (another model or other
options would mix two jobs' results in one file). At most the chunk being written when the job stopped is lost.
Resuming an ``OUT`` that is already complete does nothing.

Rows are dictionaries. JSON Lines writes each as one JSON object per line. CSV writes the ``columns`` given, in that
order, with a header line; a list or dictionary value is written as its JSON text in one cell, None as an empty
cell, floats with every digit (``repr``), so nothing is lost. Parquet is not offered: it needs pyarrow, which
MedStation does not install.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from medstation.errors import MedStationError
from medstation.settings import write_text_atomically

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
PARTIAL = ".partial"
DESCRIPTION = ".partial.json"


def results_format(path: str | Path) -> str:
    """``csv`` or ``jsonl`` from the file's suffix; MedStationError naming the file otherwise."""
    suffix = Path(path).suffix.lower()
    if suffix in FORMATS:
        return FORMATS[suffix]
    raise MedStationError(f"{path}: results are written as .csv or .jsonl (one JSON object per line), not as "
                          f"{suffix or 'a file without a suffix'}")


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, float):
        return repr(value)
    return value


class ResultsWriter:
    """Rows appended to ``path`` chunk by chunk (module docstring); use as a context manager or call
    :meth:`finish`.

    ``key`` is the field naming a row's item (a record ID, a file path), ``columns`` the CSV's columns (every field
    a row may have; JSON Lines writes the rows as they are), ``job`` the description a resumed job must match.
    """

    def __init__(self, path: str | Path, key: str, columns: Sequence[str], job: dict[str, Any],
                 resume: bool = False):
        self.path = Path(path)
        self.format = results_format(self.path)
        self.key = key
        self.columns = list(columns)
        if key not in self.columns:
            raise ValueError(f"the key {key!r} must be one of the columns")
        self.job = {"format": self.format, "key": key, "columns": self.columns, **job}
        self.partial = self.path.with_name(self.path.name + PARTIAL)
        self.description = self.path.with_name(self.path.name + DESCRIPTION)
        self.done: list[str] = []
        self.complete = False
        self._file: io.BufferedWriter | None = None
        if self.path.is_dir():
            raise MedStationError(f"{self.path}: a folder; --out names the results file")
        if self.path.exists():
            if not resume:
                raise MedStationError(f"{self.path}: already exists; choose another --out (or pass --resume, which "
                                      "leaves a finished file as it is)")
            self.done = self._read_keys(self.path)
            self.complete = True
            return
        if self.partial.exists() and not resume:
            raise MedStationError(f"{self.partial}: the results of an unfinished job; pass --resume to continue it, "
                                  "or delete it to start again")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if resume and self.partial.exists():
                self._check_job()
                self._drop_cut_row()
                self.done = self._read_keys(self.partial)
                self._file = self.partial.open("ab")
            else:
                write_text_atomically(self.description, json.dumps(self.job, indent=1) + "\n")
                self._file = self.partial.open("wb")
                if self.format == "csv":
                    self._append(self._csv_lines([dict(zip(self.columns, self.columns, strict=True))]))
        except OSError as error:
            raise MedStationError(f"{self.partial}: cannot write the results ({error.strerror or error})") from None

    def __enter__(self) -> ResultsWriter:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self.finish()
        else:
            self.close()

    def _check_job(self) -> None:
        try:
            recorded = json.loads(self.description.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise MedStationError(f"{self.description}: the description of the unfinished job cannot be read "
                                  f"({error}); delete {self.partial} to start again") from None
        names = sorted(set(recorded) | set(self.job))
        differences = [name for name in names if recorded.get(name) != self.job.get(name)]
        if differences:
            shown = "; ".join(f"{name} was {recorded.get(name)!r}, now {self.job.get(name)!r}" for name in differences)
            raise MedStationError(f"{self.partial}: made by another job ({shown}); resume it with the same model, "
                                  "input and options, or choose another --out")

    def _drop_cut_row(self) -> None:
        """Truncate the partial file after its last complete line (a kill may have cut the last row short)."""
        data = self.partial.read_bytes()
        end = data.rfind(b"\n") + 1
        if end < len(data):
            with self.partial.open("r+b") as file:
                file.truncate(end)
                file.flush()
                os.fsync(file.fileno())
        if self.format == "csv" and end == 0:
            with self.partial.open("wb") as file:
                file.write(self._csv_lines([dict(zip(self.columns, self.columns, strict=True))]))

    def _read_keys(self, path: Path) -> list[str]:
        """The key of every row of a results file."""
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise MedStationError(f"{path}: cannot read the results written so far ({error})") from None
        if self.format == "jsonl":
            keys = []
            for number, line in enumerate(text.splitlines(), start=1):
                try:
                    keys.append(str(json.loads(line)[self.key]))
                except (ValueError, KeyError, TypeError):
                    raise MedStationError(f"{path}:{number}: not a results row with {self.key!r}") from None
            return keys
        rows = list(csv.reader(io.StringIO(text)))
        if not rows:
            return []
        if rows[0] != self.columns:
            raise MedStationError(f"{path}: its columns are not those of this job ({', '.join(rows[0])}); "
                                  "choose another --out")
        index = self.columns.index(self.key)
        return [row[index] for row in rows[1:]]

    def _csv_lines(self, rows: list[dict[str, Any]]) -> bytes:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        for row in rows:
            unknown = set(row) - set(self.columns)
            if unknown:
                raise ValueError(f"fields {sorted(unknown)} are not columns of {self.path}")
            writer.writerow([_cell(row.get(column)) for column in self.columns])
        return buffer.getvalue().encode("utf-8")

    def _append(self, data: bytes) -> None:
        self._file.write(data)
        self._file.flush()
        os.fsync(self._file.fileno())

    def write(self, rows: list[dict[str, Any]]) -> None:
        """Append one chunk's rows in one write, flushed and synced to disk before returning."""
        if not rows:
            return
        if self.complete:
            raise MedStationError(f"{self.path}: finished already, without {len(rows)} of this input's items "
                                  f"(first: {rows[0][self.key]}); write the results to another --out")
        if self.format == "jsonl":
            data = "".join(json.dumps(row, separators=(",", ":")) + "\n" for row in rows).encode("utf-8")
        else:
            data = self._csv_lines(rows)
        try:
            self._append(data)
        except OSError as error:
            raise MedStationError(f"{self.partial}: cannot write the results ({error.strerror or error})") from None
        self.done.extend(str(row[self.key]) for row in rows)

    def close(self) -> None:
        """Close the partial file, leaving it to be resumed."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def finish(self) -> Path:
        """Close the partial file and rename it to the results file; returns the results file."""
        if self.complete:
            return self.path
        self.close()
        try:
            os.replace(self.partial, self.path)
            self.description.unlink(missing_ok=True)
        except OSError as error:
            raise MedStationError(f"{self.path}: cannot finish the results ({error.strerror or error})") from None
        self.complete = True
        return self.path
