"""PACS nodes and MedStation's own DICOM identity in the settings, and where secrets may and may not go."""

from __future__ import annotations

import json

import keyring
import pytest
from pacs_fixtures import DictKeyring

from medstation.io.pacs.errors import PacsError
from medstation.io.pacs.nodes import (
    LocalStation,
    PacsNode,
    find_node,
    load_local,
    load_nodes,
    remove_node,
    save_local,
    save_node,
)
from medstation.io.pacs.secrets import (
    forget_secret,
    keyring_problem,
    secret_for,
    secret_variable,
    store_secret,
)
from medstation.settings import settings_file

WEB = PacsNode("web", url="https://pacs.example.org/dicom-web/", auth="basic", username="reader")


@pytest.fixture
def no_keyring(pacs_home):
    previous = keyring.get_keyring()
    from keyring.backends.fail import Keyring

    keyring.set_keyring(Keyring())
    yield
    keyring.set_keyring(previous)
    forget_secret("web")


@pytest.fixture
def platform_keyring(pacs_home):
    previous = keyring.get_keyring()
    backend = DictKeyring()
    keyring.set_keyring(backend)
    yield backend
    forget_secret("web")
    keyring.set_keyring(previous)


def test_nodes_are_saved_listed_replaced_and_removed(pacs_home):
    save_node(PacsNode("archive", "ARCHIVE", "pacs.local", 104))
    saved = save_node(WEB)
    assert saved.url == "https://pacs.example.org/dicom-web" and saved.kind == "dicomweb"
    save_node(PacsNode("archive", "ARCHIVE2", "pacs.local", 11112, timeout_s=5))
    assert [(node.name, node.address) for node in load_nodes()] == [
        ("web", "https://pacs.example.org/dicom-web"), ("archive", "ARCHIVE2@pacs.local:11112")]
    assert str(find_node("archive")) == "archive (ARCHIVE2@pacs.local:11112)"
    remove_node("archive")
    with pytest.raises(PacsError, match=r"archive: no such PACS node \(configured: web\)"):
        find_node("archive")


@pytest.mark.parametrize(
    ("node", "problem"),
    [
        (PacsNode("a b", "AE", "h", 104), "node name 'a b'"),
        (PacsNode("n", "", "h", 104), "AE title ''"),
        (PacsNode("n", "SEVENTEEN_LETTERS", "h", 104), "1 to 16 characters"),
        (PacsNode("n", "AE", "h", 70000), "port 70000"),
        (PacsNode("n"), "give a DICOMweb URL"),
        (PacsNode("n", url="ftp://x/"), "expected http"),
        (PacsNode("n", url="http://user:pw@x/"), "no user name or password in the URL"),
        (PacsNode("n", url="http://x/", auth="basic"), "needs a user name"),
        (PacsNode("n", url="http://x/", auth="kerberos"), "authentication 'kerberos'"),
    ],
)
def test_a_node_that_cannot_work_is_refused_naming_the_field(pacs_home, node, problem):
    with pytest.raises(PacsError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        save_node(node)
    assert load_nodes() == []


def test_the_local_station_defaults_to_loopback_and_is_checked(pacs_home):
    assert load_local() == LocalStation("MEDSTATION", 11112, "127.0.0.1", False)
    save_local(LocalStation("READER1", 4006, "0.0.0.0", True))
    assert load_local() == LocalStation("READER1", 4006, "0.0.0.0", True)
    with pytest.raises(PacsError, match="listening address 'localhost'"):
        save_local(LocalStation(bind_address="localhost"))


def test_a_damaged_node_entry_is_left_out_with_one_warning(pacs_home, capsys):
    save_node(PacsNode("archive", "ARCHIVE", "pacs.local", 104))
    document = json.loads(settings_file().read_text())
    document["pacs"]["nodes"].append({"name": "broken", "port": "many"})
    settings_file().write_text(json.dumps(document))
    assert [node.name for node in load_nodes()] == ["archive"]
    assert "PACS node that cannot be used" in capsys.readouterr().err


def test_without_a_keyring_a_secret_is_refused_and_taken_per_session(no_keyring, monkeypatch):
    save_node(WEB)
    assert "no usable system keyring" in keyring_problem()
    with pytest.raises(PacsError, match="not stored; give it each session with MEDSTATION_PACS_SECRET_WEB"):
        store_secret(WEB, "hunter2")
    with pytest.raises(PacsError, match="needs a password; set MEDSTATION_PACS_SECRET_WEB"):
        secret_for(WEB)
    assert secret_for(WEB, ask=lambda node: "typed-once") == "typed-once"
    assert secret_for(WEB) == "typed-once"  # kept for the session, in memory only
    forget_secret("web")
    monkeypatch.setenv(secret_variable("web"), "from-env")
    assert secret_for(WEB) == "from-env"
    text = settings_file().read_text()
    assert "hunter2" not in text and "typed-once" not in text and "from-env" not in text


def test_with_a_keyring_the_secret_lives_there_and_never_in_the_settings(platform_keyring):
    save_node(WEB)
    assert keyring_problem() is None
    store_secret(WEB, "hunter2")
    assert platform_keyring.secrets == {("MedStation PACS", "web"): "hunter2"}
    forget_secret("web")  # the session's copy and the keyring's
    assert platform_keyring.secrets == {}
    platform_keyring.set_password("MedStation PACS", "web", "from-keyring")
    assert secret_for(WEB) == "from-keyring"
    assert "hunter2" not in settings_file().read_text()
