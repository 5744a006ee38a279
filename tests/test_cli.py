"""The command line contract: help, version, exit codes, unbuilt commands."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

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


@pytest.mark.parametrize(
    "argv",
    [
        ["pacs", "echo"],
        ["export", "x", "out", "--format", "png"],
    ],
)
def test_unbuilt_commands_exit_1_and_say_so(argv, capsys):
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "not available yet" in err
    assert "Traceback" not in err


def test_bad_usage_exits_2(capsys):
    assert main(["evaluate", "classifier"]) == 2
    assert "required" in capsys.readouterr().err


def test_launch_with_missing_path_exits_1_naming_it(tmp_path, capsys):
    missing = tmp_path / "no-such-study"
    assert main([str(missing)]) == 1
    assert str(missing) in capsys.readouterr().err


def test_self_test_json_reports_every_check(capsys):
    assert main(["self-test", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [c["name"] for c in report["checks"]] == ["imports", "device", "torch training", "qt window"]
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
