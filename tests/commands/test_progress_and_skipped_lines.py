"""What the commands write on stderr: the progress bar only on a terminal (or with --progress), one line per error,
and each skipped file named once with its reason."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from medstation import cli_progress
from medstation.cli import main
from medstation.cli_progress import ProgressBar

SMALL_CT = Path(__file__).resolve().parents[1] / "data" / "dicom" / "ge_tilt"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def draw_at_once(monkeypatch):
    """Draw every progress report, however short the work."""
    monkeypatch.setattr(cli_progress, "DELAY_S", 0.0)
    monkeypatch.setattr(cli_progress, "REDRAW_S", 0.0)


@pytest.fixture
def ct_with_junk(tmp_path) -> tuple[Path, Path]:
    folder = tmp_path / "ct"
    folder.mkdir()
    for image in SMALL_CT.glob("*.dcm"):
        shutil.copy(image, folder)
    junk = folder / "notes.dcm"
    junk.write_text("reported by phone")
    return folder, junk


def test_the_bar_is_drawn_on_a_terminal_only_unless_asked_for(draw_at_once):
    for stream, always, drawn in (
        (io.StringIO(), False, False),
        (_Terminal(), False, True),
        (io.StringIO(), True, True),
    ):
        with ProgressBar(always, stream=stream) as bar:
            bar(0.5, "reading")
        assert ("\r[" in stream.getvalue()) is drawn, (type(stream).__name__, always)


def test_a_failing_command_writes_one_line_to_a_stderr_that_is_not_a_terminal(draw_at_once, tmp_path, capsys):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.dcm").write_text("not an image")
    assert main(["convert", str(folder), str(tmp_path / "out.nii")]) == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if not line.startswith("skipped ")]
    assert "\r" not in err
    assert len(lines) == 1 and lines[0].startswith("medstation convert: error: "), err


@pytest.mark.parametrize("where", ["before the command", "after the command"])
def test_progress_asks_for_the_bar_on_any_stderr(draw_at_once, ct_with_junk, capsys, where):
    folder, _ = ct_with_junk
    argv = ["--progress", "info", str(folder), "--json"]
    if where == "after the command":
        argv = ["info", str(folder), "--json", "--progress"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "\r[" in captured.err
    assert json.loads(captured.out)["series"]


def test_info_names_each_skipped_file_once(ct_with_junk, capsys):
    folder, junk = ct_with_junk
    assert main(["info", str(folder), "--json"]) == 0
    captured = capsys.readouterr()
    (line,) = [line for line in captured.err.splitlines() if line.startswith("skipped ")]
    assert line.startswith(f"skipped {junk}: ") and line.count(junk.name) == 1, line
    (entry,) = json.loads(captured.out)["skipped"]
    assert entry["path"] == str(junk) and entry["reason"] and junk.name not in entry["reason"], entry


def test_import_names_each_unreadable_file_once(ct_with_junk, capsys):
    folder, junk = ct_with_junk
    assert main(["import", str(folder), "--json"]) == 0
    (line,) = [line for line in capsys.readouterr().err.splitlines() if line.startswith("skipped ")]
    assert line.startswith(f"skipped {junk}: ") and line.count(junk.name) == 1, line


def test_forecast_names_the_file_once_in_its_skipped_entries_and_its_error(tmp_path, capsys):
    header_only = tmp_path / "132539.txt"
    header_only.write_text("Time,Parameter,Value\n00:00,RecordID,132539\n")
    assert main(["forecast", str(header_only), "--json"]) == 1
    err = capsys.readouterr().err
    (line,) = [line for line in err.splitlines() if line.startswith("skipped ")]
    assert line == f"skipped {header_only}: patient 132539 has no measurements"
    (error,) = [line for line in err.splitlines() if line.startswith("medstation forecast: error: ")]
    assert error.count(header_only.name) == 1 and "no measurements" in error, error
