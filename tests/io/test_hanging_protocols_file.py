"""The user's hanging protocols file: written with the defaults on first use, read on every opening, and a damaged
file gives the defaults with one warning line, never a traceback."""

from __future__ import annotations

import json

import pytest

from medstation.core.hanging_protocols import DEFAULT_PROTOCOLS, Protocol, match_protocol
from medstation.core.volume import VolumeInfo
from medstation.io.hanging_protocols import PROTOCOLS_FILE_NAME, load_protocols, protocols_file, protocols_text


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDSTATION_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_the_default_rules_are_written_on_first_use(home, capsys):
    path = home / PROTOCOLS_FILE_NAME
    assert protocols_file() == path and not path.exists()
    assert load_protocols() == list(DEFAULT_PROTOCOLS)
    document = json.loads(path.read_text(encoding="utf-8"))
    assert [rule["name"] for rule in document["protocols"]][:1] == ["CT head"]
    assert {"version", "protocols", "about"} <= set(document)
    assert not list(home.glob(".*.tmp")), "written under a temporary name, then renamed"
    assert load_protocols() == list(DEFAULT_PROTOCOLS)
    assert capsys.readouterr().err == ""


def test_an_edited_file_is_what_matches(home):
    path = protocols_file()
    mine = [Protocol("My knee", modalities=("MR",), body_parts=("KNEE",), layout="single", window="Contrast")]
    path.write_text(protocols_text(mine), encoding="utf-8")
    rules = load_protocols()
    assert rules == mine
    knee = VolumeInfo(modality="MR", details={"BodyPartExamined": "KNEE"})
    assert match_protocol(knee, 30, rules).name == "My knee"
    assert match_protocol(VolumeInfo(modality="CT", details={"BodyPartExamined": "HEAD"}), 30, rules) is None


@pytest.mark.parametrize(("content", "problem"), [
    ('{"protocols": [', "is not valid JSON"),
    ("[1, 2]", 'holds no "protocols" list'),
    ('{"protocols": {"name": "CT head"}}', 'holds no "protocols" list'),
    ('{"protocols": [{"name": "CT head", "layout": "4x4"}]}', "rule 1 (CT head): layout '4x4' is not one of"),
    ('{"protocols": [{"name": "CT", "match": {"description_regex": "(("}}]}', "is not a regular expression"),
    (b"\xff\xfe\x00garbage", "cannot be read"),
])
def test_a_damaged_file_gives_the_defaults_and_one_warning_line(home, capsys, content, problem):
    path = protocols_file()
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    before = path.read_bytes()
    assert load_protocols() == list(DEFAULT_PROTOCOLS)
    assert load_protocols() == list(DEFAULT_PROTOCOLS)
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith(f"medstation: warning: {path} ") and problem in err
    assert err.rstrip().endswith("using the default hanging protocols")
    assert "Traceback" not in err
    assert path.read_bytes() == before, "the user's file is left for them to mend"


def test_a_folder_in_the_files_place_gives_the_defaults_and_one_warning_line(home, capsys):
    protocols_file().mkdir()
    assert load_protocols() == list(DEFAULT_PROTOCOLS)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot be read" in err and "Traceback" not in err
