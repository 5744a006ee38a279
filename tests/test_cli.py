"""The command line contract: help, version, exit codes, unbuilt commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from database_faults import GE_TILT, damage_middle_pages, indexed_database, integrity, many_files, table_rows

from medstation import __version__
from medstation.cli import main


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_help_answers_without_importing_heavy_libraries():
    result = run_python(
        "import sys\n"
        "from medstation.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('HEAVY', sorted(m for m in ('torch', 'monai', 'SimpleITK', 'PySide6') if m in sys.modules))"
    )
    assert result.returncode == 0, result.stderr
    assert "self-test" in result.stdout and "classify" in result.stdout
    assert "HEAVY []" in result.stdout


def test_module_entry_point_reports_version():
    result = subprocess.run([sys.executable, "-m", "medstation", "--version"], capture_output=True, text=True)
    assert result.returncode == 0
    assert result.stdout.strip() == f"medstation {__version__}"


@pytest.mark.parametrize("command", [["models"], ["models", "--json"]])
def test_a_reader_that_closed_the_pipe_ends_the_command_quietly(command):
    reader, writer = os.pipe()
    os.close(reader)
    try:
        done = subprocess.run([sys.executable, "-m", "medstation", *command], stdout=writer, stderr=subprocess.PIPE,
                              text=True, timeout=120)
    finally:
        os.close(writer)
    assert done.stderr == ""
    assert done.returncode == 141


def test_bad_usage_exits_2(capsys):
    assert main(["evaluate", "classifier"]) == 2
    assert "required" in capsys.readouterr().err


def test_launch_with_missing_path_exits_1_naming_it(tmp_path, capsys):
    missing = tmp_path / "no-such-study"
    assert main([str(missing)]) == 1
    assert str(missing) in capsys.readouterr().err


@pytest.mark.slow
def test_self_test_json_reports_every_check(capsys):
    assert main(["self-test", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [c["name"] for c in report["checks"]] == [
        "imports", "device", "torch training", "model checksums", "sample study", "classifier", "forecaster",
        "generator", "nifti round trip", "render slice", "qt window",
    ]
    assert report["passed"] is True and all(c["ok"] for c in report["checks"])


def test_self_test_reports_a_failing_check(monkeypatch, capsys):
    from medstation import selftest

    def broken() -> str:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(selftest, "CHECKS", [("imports", selftest.check_imports), ("broken", broken)])
    assert main(["self-test"]) == 1
    out = capsys.readouterr().out
    assert "PASS  imports" in out
    assert "FAIL  broken" in out and "disk on fire" in out
    assert "1/2 checks passed" in out


def _unwritable_home(tmp_path):
    """A home folder that cannot be created: below a folder without write permission, or, for a user that may
    write everywhere (root), a path under /sys."""
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        (locked / "probe").mkdir()
    except PermissionError:
        return locked / "home"
    for candidate in (Path("/sys/medstation-test-home"), Path("/proc/medstation-test-home")):
        try:
            candidate.mkdir()
        except PermissionError:
            return candidate
        except OSError:
            continue
        candidate.rmdir()
    pytest.skip("this user may create folders everywhere (root without /sys): no unwritable home to test")


def _home(kind: str, tmp_path: Path) -> Path:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    if kind == "a file":
        return blocker
    if kind == "below a file":
        return blocker / "home"
    return _unwritable_home(tmp_path)


@pytest.mark.parametrize("kind", ["a file", "below a file", "unwritable"])
def test_a_home_folder_that_cannot_be_created_is_named_in_one_line(kind, tmp_path, monkeypatch, capsys):
    home = _home(kind, tmp_path)
    monkeypatch.setenv("MEDSTATION_HOME", str(home))
    assert main(["import", str(GE_TILT)]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"medstation import: error: {home}: cannot create MedStation's data folder")
    assert "MEDSTATION_HOME" in line
    assert main(["models"]) == 1 and str(home) in capsys.readouterr().err


def test_the_workstation_with_a_home_that_is_a_file_exits_1_naming_it(tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"
    home.write_text("not a folder")
    monkeypatch.setenv("MEDSTATION_HOME", str(home))
    assert main([str(GE_TILT)]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert str(home) in line and "a file of that name is in the way" in line


def test_import_into_a_damaged_database_says_so_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MEDSTATION_HOME", str(tmp_path / "home"))
    database = tmp_path / "home" / "studies.sqlite"
    indexed_database(database, GE_TILT)
    damaged = damage_middle_pages(database)
    assert main(["import", str(GE_TILT)]) == 1
    err = capsys.readouterr().err
    (line,) = [line for line in err.splitlines() if "error" in line]
    assert f"{database}: the study database is damaged" in line and "rebuild" in line
    assert "Traceback" not in err
    assert database.read_bytes() == damaged


def _import(home: Path, folder: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "medstation", "import", str(folder), "--json"],
        env={**os.environ, "MEDSTATION_HOME": str(home)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def test_two_imports_started_together_into_one_database_both_succeed(tmp_path):
    home = tmp_path / "home"
    first, second = _import(home, many_files(tmp_path / "first", 60)), _import(home, GE_TILT)
    results = [process.communicate(timeout=300) for process in (first, second)]
    assert [process.returncode for process in (first, second)] == [0, 0], results
    assert all("Traceback" not in err for _, err in results)
    reports = [json.loads(out) for out, _ in results]
    assert [report["read"] for report in reports] == [60, 4]
    assert integrity(home / "studies.sqlite") == "ok"
    rows = table_rows(home / "studies.sqlite")
    assert (len(rows["files"]), len(rows["unreadable"]), len(rows["roots"])) == (63, 1, 2)
