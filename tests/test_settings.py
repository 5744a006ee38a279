"""The settings file both faces read: defaults, atomic saves, damaged files, and the CLI honouring the device."""

from __future__ import annotations

import json

import pytest

from medstation.cli import main
from medstation.errors import MedStationError
from medstation.resources import resource_path
from medstation.settings import (
    SETTINGS_FILE_NAME,
    UserSettings,
    load_section,
    load_settings,
    save_section,
    save_settings,
    settings_file,
    update_settings,
)


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDSTATION_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MEDSTATION_DEVICE", raising=False)
    return tmp_path / "home"


def test_the_file_lives_in_the_user_data_folder_and_starts_as_the_defaults(home, capsys):
    assert settings_file() == home / SETTINGS_FILE_NAME
    assert load_settings() == UserSettings(device="auto")
    assert not settings_file().exists()
    assert capsys.readouterr().err == ""


def test_saved_settings_read_back_and_leave_no_temporary_file(home):
    save_settings(UserSettings(device="cpu"))
    assert load_settings() == UserSettings(device="cpu")
    assert json.loads(settings_file().read_text(encoding="utf-8")) == {"device": "cpu"}
    assert sorted(path.name for path in home.iterdir()) == [SETTINGS_FILE_NAME]


def test_keys_of_a_newer_version_survive_a_save(home):
    settings_file().write_text(json.dumps({"device": "cpu", "theme": "light"}), encoding="utf-8")
    assert update_settings(device="mps") == UserSettings(device="mps")
    assert json.loads(settings_file().read_text(encoding="utf-8")) == {"device": "mps", "theme": "light"}


def test_a_section_kept_by_its_own_module_survives_settings_saves(home):
    assert load_section("pacs") is None
    save_section("pacs", {"nodes": [{"name": "archive"}]})
    update_settings(device="cpu")
    assert load_section("pacs") == {"nodes": [{"name": "archive"}]}
    assert load_settings() == UserSettings(device="cpu")
    assert sorted(path.name for path in home.iterdir()) == [SETTINGS_FILE_NAME]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"device": "cpu"', "is not valid JSON"),
        ("[1, 2]", "holds a JSON list, not an object"),
        (b"\xff\xfe\x00garbage", "cannot be read"),
    ],
)
def test_a_damaged_file_gives_the_defaults_and_one_warning_line(home, capsys, content, problem):
    path = settings_file()
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    assert load_settings() == UserSettings()
    assert load_settings() == UserSettings()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"medstation: warning: {path} {problem}") and "using the default settings" in err


def test_a_value_of_the_wrong_type_falls_back_to_its_default(home, capsys):
    settings_file().write_text('{"device": 3}', encoding="utf-8")
    assert load_settings().device == "auto"
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "device=3" in err


def test_a_folder_in_the_files_place_gives_the_defaults_and_one_warning_line(home, capsys):
    settings_file().mkdir()
    assert load_settings() == UserSettings()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot be read" in err


def test_a_damaged_file_is_replaced_by_the_next_save(home, capsys):
    settings_file().write_text("not json", encoding="utf-8")
    update_settings(device="cpu")
    assert json.loads(settings_file().read_text(encoding="utf-8")) == {"device": "cpu"}


def test_a_settings_file_that_cannot_be_written_is_named(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(MedStationError, match="cannot save the settings") as caught:
        save_settings(UserSettings(device="cpu"), blocker / SETTINGS_FILE_NAME)
    assert str(blocker / SETTINGS_FILE_NAME) in str(caught.value)


def test_commands_use_the_device_chosen_in_preferences(home, capsys, untrained_classifier_bundle):
    """A device saved in the settings file reaches the command line; MEDSTATION_DEVICE still wins over it."""
    sample = str(resource_path("sample", "images", "sample-01.dcm"))
    update_settings(device="cuda:99")
    assert main(["classify", sample, "--model", untrained_classifier_bundle, "--json"]) == 1
    err = capsys.readouterr().err
    assert "cuda:99 was requested (settings)" in err and "Traceback" not in err


def test_the_environment_wins_over_the_saved_device_on_the_command_line(home, capsys, monkeypatch,
                                                                       untrained_classifier_bundle):
    sample = str(resource_path("sample", "images", "sample-01.dcm"))
    update_settings(device="cuda:99")
    monkeypatch.setenv("MEDSTATION_DEVICE", "cpu")
    assert main(["classify", sample, "--model", untrained_classifier_bundle, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["results"]


def test_a_command_with_a_damaged_settings_file_runs_with_one_warning_line(home, capsys, untrained_classifier_bundle):
    sample = str(resource_path("sample", "images", "sample-01.dcm"))
    settings_file().write_text("{device: cpu}", encoding="utf-8")
    assert main(["classify", sample, "--model", untrained_classifier_bundle, "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["results"]
    warnings = [line for line in captured.err.splitlines() if SETTINGS_FILE_NAME in line]
    assert len(warnings) == 1 and "Traceback" not in captured.err
