"""A batch job's results written to one file, CSV, JSON Lines or Parquet, chunk by chunk, and resumable after a kill.

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
cell, floats with every digit (``repr``), so nothing is lost.

:class:`ChunkedResults` keeps the rows as one file per chunk in the folder ``OUT.parts`` instead (each written to a
temporary name, synced, then renamed, so a chunk is there whole or not at all) and puts them together into ``OUT``
when the job ends, in input order. It writes Parquet (one row group per chunk; a list or dictionary value as its
JSON text, as in CSV, None as null) and the results of a job sharded across torchrun workers, whatever the format:
each worker writes its own chunks into the same folder, and rank 0 merges them into the one ``OUT`` a single process
would have written. A resumed job reads the chunks there, on any number of workers.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from medstation.atomic_files import write_atomically, write_text_atomically
from medstation.errors import MedStationError

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
PARTIAL = ".partial"
DESCRIPTION = ".partial.json"
PARTS = ".parts"
"""The folder of a :class:`ChunkedResults` job's chunks, beside ``OUT``."""


def results_format(path: str | Path) -> str:
    """``csv``, ``jsonl`` or ``parquet`` from the file's suffix; MedStationError naming the file otherwise."""
    suffix = Path(path).suffix.lower()
    if suffix in FORMATS:
        return FORMATS[suffix]
    raise MedStationError(f"{path}: results are written as .csv, .jsonl (one JSON object per line) or .parquet, not "
                          f"as {suffix or 'a file without a suffix'}")


def partial_paths(path: str | Path) -> tuple[Path, Path]:
    """``OUT.partial`` (an unfinished single-file job's rows) and ``OUT.parts`` (an unfinished chunked job's)."""
    path = Path(path)
    return path.with_name(path.name + PARTIAL), path.with_name(path.name + PARTS)


def chunked(path: str | Path, sharded: bool) -> bool:
    """Whether ``path`` is written by :class:`ChunkedResults` rather than :class:`ResultsWriter`: always for
    Parquet and for a job sharded across workers; otherwise when an unfinished chunked job is there to resume."""
    return sharded or results_format(path) == "parquet" or partial_paths(path)[1].is_dir()


def check_results_start(path: str | Path, resume: bool, sharded: bool) -> None:
    """MedStationError naming what is in the way of starting (or resuming) a job writing ``path``; what the
    launcher of a sharded job checks before its workers start."""
    path = Path(path)
    partial, parts = partial_paths(path)
    if path.is_dir():
        raise MedStationError(f"{path}: a folder; name the results file")
    if path.exists() and not resume:
        raise MedStationError(f"{path}: already exists; choose another results file (or pass --resume, which "
                              "leaves a finished file as it is)")
    if sharded and partial.exists() and not path.exists():
        raise MedStationError(f"{partial}: the results of an unfinished job run in one process; resume it the same "
                              "way (without --nproc-per-node), or delete it to start again")
    if (partial.exists() or parts.exists()) and not resume and not path.exists():
        shown = partial if partial.exists() else parts
        raise MedStationError(f"{shown}: the results of an unfinished job; pass --resume to continue it, or delete "
                              "it to start again")


def _json_line(row: dict[str, Any]) -> str:
    return json.dumps(row, separators=(",", ":")) + "\n"


def _csv_bytes(rows: Iterable[dict[str, Any]], columns: list[str], path: Path) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows:
        unknown = set(row) - set(columns)
        if unknown:
            raise ValueError(f"fields {sorted(unknown)} are not columns of {path}")
        writer.writerow([_cell(row.get(column)) for column in columns])
    return buffer.getvalue().encode("utf-8")


def _read_keys(path: Path, file_format: str, key: str, columns: list[str]) -> list[str]:
    """The key of every row of a finished results file."""
    if file_format == "parquet":
        from pyarrow import parquet

        try:
            table = parquet.read_table(path, columns=[key])
        except Exception as error:  # pyarrow's errors: ArrowInvalid, OSError, KeyError
            raise MedStationError(f"{path}: cannot read the results written so far ({error})") from None
        return [str(value) for value in table.column(key).to_pylist()]
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise MedStationError(f"{path}: cannot read the results written so far ({error})") from None
    if file_format == "jsonl":
        keys = []
        for number, line in enumerate(text.splitlines(), start=1):
            try:
                keys.append(str(json.loads(line)[key]))
            except (ValueError, KeyError, TypeError):
                raise MedStationError(f"{path}:{number}: not a results row with {key!r}") from None
        return keys
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return []
    if rows[0] != columns:
        raise MedStationError(f"{path}: its columns are not those of this job ({', '.join(rows[0])}); "
                              "choose another results file")
    index = columns.index(key)
    return [row[index] for row in rows[1:]]


def _check_job(description: Path, job: dict[str, Any], unfinished: Path) -> None:
    """MedStationError when the job described in ``description`` is not ``job``."""
    try:
        recorded = json.loads(description.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise MedStationError(f"{description}: the description of the unfinished job cannot be read "
                              f"({error}); delete {unfinished} to start again") from None
    names = sorted(set(recorded) | set(job))
    differences = [name for name in names if recorded.get(name) != job.get(name)]
    if differences:
        shown = "; ".join(f"{name} was {recorded.get(name)!r}, now {job.get(name)!r}" for name in differences)
        raise MedStationError(f"{unfinished}: made by another job ({shown}); resume it with the same model, "
                              "input and options, or choose another results file")


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
        if self.format == "parquet":  # written by ChunkedResults (open_results chooses)
            raise MedStationError(f"{self.path}: this job writes its results as .csv or .jsonl; Parquet is written "
                                  "by medstation classify --results and forecast --out")
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
        _check_job(self.description, self.job, self.partial)

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
        return _read_keys(path, self.format, self.key, self.columns)

    def _csv_lines(self, rows: list[dict[str, Any]]) -> bytes:
        return _csv_bytes(rows, self.columns, self.path)

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
            data = "".join(_json_line(row) for row in rows).encode("utf-8")
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


def _parquet_kind(values: list[Any]) -> str:
    """How a column's values are stored in Parquet: ``json`` (text) where any is a list or dictionary, else by
    the Python types present (``bool``, ``int``, ``float``, ``str``), ``json`` for a mixture."""
    kinds = {type(value) for value in values if value is not None}
    if not kinds:
        return "str"
    if kinds & {dict, list, tuple}:
        return "json"
    if kinds == {bool}:
        return "bool"
    if kinds <= {int, float}:
        return "int" if kinds == {int} else "float"
    return "str" if kinds == {str} else "json"


def _parquet_value(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "json":
        return json.dumps(value, separators=(",", ":"))
    return float(value) if kind == "float" else value


def write_parquet(target: Path, chunks: list[list[dict[str, Any]]], columns: list[str]) -> None:
    """``chunks`` of rows as one Parquet file at ``target`` (not atomic: write to a temporary name), one row group
    per chunk, the columns' types taken from every row (so that every row group has the same schema)."""
    import pyarrow
    from pyarrow import parquet

    types = {"bool": pyarrow.bool_(), "int": pyarrow.int64(), "float": pyarrow.float64(), "str": pyarrow.string(),
             "json": pyarrow.string()}
    kinds = {column: _parquet_kind([row.get(column) for rows in chunks for row in rows]) for column in columns}
    schema = pyarrow.schema([(column, types[kinds[column]]) for column in columns])
    with parquet.ParquetWriter(target, schema) as writer:
        for rows in chunks:
            if not rows:
                continue
            arrays = [pyarrow.array([_parquet_value(row.get(column), kinds[column]) for row in rows],
                                    type=types[kinds[column]]) for column in columns]
            writer.write_table(pyarrow.Table.from_arrays(arrays, schema=schema))


class ChunkedResults:
    """Rows written one chunk per file into ``OUT.parts`` and put together into ``OUT`` by :meth:`finish` (module
    docstring); the same interface as :class:`ResultsWriter` (``done``, :meth:`write`, :meth:`finish`).

    ``order`` holds the keys of every item of the job in input order: a chunk's file is named by the place of its
    first row, so the merged file has the rows in input order whichever worker wrote them. ``create``: this process
    makes the folder and the job description (the only one, or rank 0 of the workers); the others join a folder
    made already.
    """

    def __init__(self, path: str | Path, key: str, columns: Sequence[str], job: dict[str, Any],
                 order: Sequence[str], resume: bool = False, create: bool = True):
        self.path = Path(path)
        self.format = results_format(self.path)
        self.key = key
        self.columns = list(columns)
        if key not in self.columns:
            raise ValueError(f"the key {key!r} must be one of the columns")
        self.job = {"format": self.format, "key": key, "columns": self.columns, **job}
        self.folder = partial_paths(self.path)[1]
        self.description = self.folder / "job.json"
        self.place = {name: index for index, name in enumerate(order)}
        self.done: list[str] = []
        self.complete = False
        if create:
            check_results_start(self.path, resume, sharded=True)
        if self.path.exists():
            self.done = _read_keys(self.path, self.format, key, self.columns)
            self.complete = True
            return
        try:
            if create and not self.folder.exists():
                self.folder.mkdir(parents=True)
                write_text_atomically(self.description, json.dumps(self.job, indent=1) + "\n")
        except OSError as error:
            raise MedStationError(f"{self.folder}: cannot write the results ({error.strerror or error})") from None
        _check_job(self.description, self.job, self.folder)
        for chunk in self._chunk_files():
            self.done.extend(str(row[key]) for row in self._read_chunk(chunk))

    def __enter__(self) -> ChunkedResults:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self.finish()

    def _chunk_files(self) -> list[Path]:
        return sorted(self.folder.glob("rows-*.jsonl"))

    def _read_chunk(self, path: Path) -> list[dict[str, Any]]:
        try:
            return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        except (OSError, ValueError) as error:
            raise MedStationError(f"{path}: cannot read the results written so far ({error}); delete it to run "
                                  "its chunk again") from None

    def _store(self, target: Path, data: bytes) -> None:
        """``data`` as ``target``: written to a hidden temporary name beside it, synced, then renamed."""
        write_atomically(target, lambda temporary: temporary.write_bytes(data), durable=True)

    def write(self, rows: list[dict[str, Any]]) -> None:
        """One chunk's rows as one file of the folder, there whole once this returns."""
        if not rows:
            return
        if self.complete:
            raise MedStationError(f"{self.path}: finished already, without {len(rows)} of this input's items "
                                  f"(first: {rows[0][self.key]}); write the results to another file")
        first = self.place[str(rows[0][self.key])]
        try:
            self._store(self.folder / f"rows-{first:09d}.jsonl", "".join(map(_json_line, rows)).encode("utf-8"))
        except OSError as error:
            raise MedStationError(f"{self.folder}: cannot write the results ({error.strerror or error})") from None
        self.done.extend(str(row[self.key]) for row in rows)

    def close(self) -> None:
        """Nothing stays open between chunks."""

    def finish(self) -> Path:
        """Every chunk's rows in input order as ``OUT`` (written to a temporary name, then renamed), and the folder
        removed; returns the results file."""
        if self.complete:
            return self.path
        chunks = [self._read_chunk(path) for path in self._chunk_files()]
        for rows in chunks:
            rows.sort(key=lambda row: self.place.get(str(row[self.key]), len(self.place)))
        def merge(temporary: Path) -> None:
            if self.format == "parquet":
                write_parquet(temporary, chunks, self.columns)
                return
            with temporary.open("wb") as file:
                if self.format == "csv":
                    file.write(_csv_bytes([dict(zip(self.columns, self.columns, strict=True))], self.columns,
                                          self.path))
                for rows in chunks:
                    file.write(_csv_bytes(rows, self.columns, self.path) if self.format == "csv"
                               else "".join(map(_json_line, rows)).encode("utf-8"))

        try:
            write_atomically(self.path, merge, durable=True)
            shutil.rmtree(self.folder, ignore_errors=True)
        except OSError as error:
            raise MedStationError(f"{self.path}: cannot finish the results ({error.strerror or error})") from None
        self.complete = True
        return self.path


def open_results(path: str | Path, key: str, columns: Sequence[str], job: dict[str, Any], order: Sequence[str],
                 resume: bool = False, sharded: bool = False,
                 create: bool = True) -> ResultsWriter | ChunkedResults:
    """The writer of a job's results file: :class:`ChunkedResults` where :func:`chunked` says so, else
    :class:`ResultsWriter` (CSV or JSON Lines streamed to ``OUT.partial``)."""
    if chunked(path, sharded):
        return ChunkedResults(path, key, columns, job, order, resume=resume, create=create)
    return ResultsWriter(path, key, columns, job, resume=resume)
