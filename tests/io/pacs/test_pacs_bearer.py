"""DICOMweb with bearer-token authentication against a real server that checks the header: Orthanc behind a
token-checking gateway (``orthanc_server.BearerProxy``, in the private network namespace). The token comes from the
keyring; search, retrieve and send work with it, a wrong or missing token is one line naming the node, and the
token is never written to the settings, a log line, the output or an error message."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request

import numpy as np
import pytest
from orthanc_server import HOST, BearerProxy
from pacs_fixtures import GE_ACCESSION, DictKeyring, start_orthanc
from pydicom import dcmread

from medstation.cli import main
from medstation.io.dicom.series import load_dicom
from medstation.io.pacs import secrets
from medstation.settings import settings_file

pytestmark = pytest.mark.private_network
TOKEN = "eyJhbGciOi.tok3n-4-gateway"
WRONG = "eyJhbGciOi.not-the-token"


@pytest.fixture
def gateway(tmp_path):
    """An empty Orthanc (DICOMweb on 8048) that only a request with the bearer token reaches (through 8049)."""
    server = start_orthanc(tmp_path / "behind-gateway", 4248, 8048)
    try:
        with BearerProxy((HOST, server.http_port), TOKEN, 8049) as proxy:
            yield proxy
    finally:
        server.kill()


@pytest.fixture
def platform_keyring(pacs_home, monkeypatch):
    import keyring

    previous = keyring.get_keyring()
    backend = DictKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)
    secrets.forget_secret("gateway")


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def new_session(monkeypatch) -> None:
    """What a new MedStation process has: no secret kept in memory, only what the keyring holds."""
    monkeypatch.setattr(secrets, "_session", {})


def test_the_gateway_refuses_a_request_without_the_token(gateway):
    for header in (None, f"Bearer {WRONG}", f"Basic {TOKEN}"):
        request = urllib.request.Request(f"{gateway.url}/dicom-web/studies")
        if header:
            request.add_header("Authorization", header)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == 401 and refused.value.headers["WWW-Authenticate"].startswith("Bearer")
    request = urllib.request.Request(f"{gateway.url}/dicom-web/studies", headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 200 and json.loads(answer.read() or b"[]") == []


def test_send_find_and_retrieve_with_the_token_from_the_keyring(gateway, seeded, pacs_home, platform_keyring,
                                                                 monkeypatch, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    ge = seeded["ge"]
    url = f"{gateway.url}/dicom-web"
    monkeypatch.setenv(secrets.secret_variable("gateway"), TOKEN)
    code, _, err = run(["pacs", "nodes", "add", "gateway", "--url", url, "--auth", "bearer", "--timeout", "10",
                        "--store-secret"], capsys)
    assert code == 0, err
    assert platform_keyring.secrets == {(secrets.SERVICE, "gateway"): TOKEN}
    monkeypatch.delenv(secrets.secret_variable("gateway"))
    new_session(monkeypatch)
    outputs = []

    code, out, err = run(["pacs", "send", "gateway", str(ge.folder), "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["sent"] == ge.instances
    outputs += [out, err]
    new_session(monkeypatch)
    code, out, err = run(["pacs", "find", "gateway", "--accession", GE_ACCESSION, "--json"], capsys)
    assert code == 0, err
    assert [match["study_uid"] for match in json.loads(out)["matches"]] == [ge.study_uid]
    outputs += [out, err]
    new_session(monkeypatch)
    code, out, err = run(["pacs", "retrieve", "gateway", "--study", ge.study_uid, "--method", "wado", "--json"],
                         capsys)
    assert code == 0, err
    summary = json.loads(out)
    assert summary["received"] == ge.instances
    outputs += [out, err]
    files = sorted((pacs_home / "received").rglob("*.dcm"))
    assert len(files) == ge.instances
    received, original = load_dicom(files[0].parent), load_dicom(ge.folder)
    assert np.array_equal(received.array, original.array) and np.allclose(received.affine, original.affine)
    sent = {str(dcmread(path, stop_before_pixels=True).SOPInstanceUID): path.read_bytes()
            for path in ge.folder.glob("*.dcm")}
    assert {path.stem: path.read_bytes() for path in files} == sent  # kept as the node sent them, byte for byte
    assert len(gateway.seen) >= 4 and set(gateway.seen) == {f"Bearer {TOKEN}"}

    for where in (*outputs, caplog.text, settings_file().read_text()):
        assert TOKEN not in where


def test_a_wrong_or_missing_token_is_one_line_naming_the_node(gateway, seeded, pacs_home, platform_keyring,
                                                              monkeypatch, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    node = f"gateway ({gateway.url}/dicom-web)"
    assert run(["pacs", "nodes", "add", "gateway", "--url", f"{gateway.url}/dicom-web", "--auth", "bearer",
                "--timeout", "10"], capsys)[0] == 0
    platform_keyring.set_password(secrets.SERVICE, "gateway", WRONG)
    refused = f"medstation pacs: error: {node}: %s refused: HTTP 401, not authorised (check the user name and " \
              "password or token)\n"
    for argv, what in ((["find", "gateway", "--json"], "the study search"),
                       (["retrieve", "gateway", "--study", seeded["ge"].study_uid, "--method", "wado"],
                        "the series search"),
                       (["send", "gateway", str(seeded["ge"].folder)], "the send")):
        new_session(monkeypatch)
        code, out, err = run(["pacs", *argv], capsys)
        assert (code, out, err) == (1, "", refused % what)
    assert gateway.seen and set(gateway.seen) == {f"Bearer {WRONG}"}
    assert WRONG not in caplog.text

    platform_keyring.delete_password(secrets.SERVICE, "gateway")
    new_session(monkeypatch)
    seen = len(gateway.seen)
    code, out, err = run(["pacs", "echo", "gateway"], capsys)
    assert (code, out) == (1, "")
    assert err == (f"medstation pacs: error: {node}: needs a token; set MEDSTATION_PACS_SECRET_GATEWAY or store it "
                   "with 'medstation pacs nodes add gateway ... --store-secret'\n")
    assert len(gateway.seen) == seen
