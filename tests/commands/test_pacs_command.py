"""``medstation pacs``: nodes and MedStation's identity in the settings, and against a real Orthanc (in a private
network namespace) send, find and retrieve round-tripping a series with identical voxels, listen, and one error line
naming the node for each way a transfer fails."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
from pacs_fixtures import GE_ACCESSION

from medstation.cli import main
from medstation.io.database import StudyDatabase
from medstation.io.dicom.series import load_dicom


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_nodes_are_added_listed_and_removed(pacs_home, capsys):
    assert run(["pacs", "nodes", "add", "archive", "--ae-title", "ARCHIVE", "--host", "pacs.local", "--port", "104"],
               capsys)[1] == "saved archive (ARCHIVE@pacs.local:104)\n"
    run(["pacs", "nodes", "add", "web", "--url", "https://pacs.local/dicom-web", "--auth", "bearer"], capsys)
    code, out, _ = run(["pacs", "nodes", "list", "--json"], capsys)
    assert code == 0 and [node["name"] for node in json.loads(out)["nodes"]] == ["archive", "web"]
    assert run(["pacs", "nodes", "remove", "archive"], capsys)[:2] == (0, "removed archive (ARCHIVE@pacs.local:104)\n")
    code, out, _ = run(["pacs", "nodes", "list"], capsys)
    assert code == 0 and out == "web: https://pacs.local/dicom-web (dicomweb, bearer authentication, timeout 30 s)\n"


def test_the_local_station_is_shown_and_set(pacs_home, capsys):
    code, out, _ = run(["pacs", "local", "--ae-title", "READER1", "--port", "4006", "--pushes", "on", "--json"],
                       capsys)
    assert code == 0 and json.loads(out) == {"ae_title": "READER1", "port": 4006, "bind_address": "127.0.0.1",
                               "accept_pushes": True}
    assert run(["pacs", "local"], capsys)[1] == (
        "MedStation is READER1; its Storage SCP listens on 127.0.0.1:4006, pushes accepted\n")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["pacs", "echo", "nowhere"], "medstation pacs: error: nowhere: no such PACS node (configured: none yet)"),
        (["pacs", "nodes", "add", "x", "--ae-title", "A", "--host", "h", "--port", "0"],
         "medstation pacs: error: x: port 0: expected a TCP port number from 1 to 65535"),
        (["pacs", "local", "--bind", "everywhere"], "medstation pacs: error: listening address 'everywhere'"),
    ],
)
def test_a_user_error_is_one_line_and_exit_1(pacs_home, capsys, argv, message):
    code, out, err = run(argv, capsys)
    assert code == 1 and out == ""
    assert err.startswith(message) and err.count("\n") == 1


def test_bad_usage_exits_2(pacs_home, capsys):
    assert main(["pacs", "retrieve", "somewhere"]) == 2
    assert "--study" in capsys.readouterr().err


def add_orthanc(capsys, name: str = "orthanc", port: int = 4242, ae_title: str = "ORTHANC", timeout: str = "10"):
    assert run(["pacs", "nodes", "add", name, "--ae-title", ae_title, "--host", "127.0.0.1", "--port", str(port),
                "--timeout", timeout], capsys)[0] == 0


@pytest.mark.private_network
def test_send_find_and_retrieve_round_trip_a_series_with_identical_voxels(fresh_orthanc, seeded, pacs_home, capsys):
    ge = seeded["ge"]
    add_orthanc(capsys, port=4243)
    run(["pacs", "nodes", "add", "web", "--url", fresh_orthanc.dicomweb_url], capsys)
    code, out, err = run(["pacs", "send", "orthanc", str(ge.folder), "--json"], capsys)
    assert code == 0 and json.loads(out)["sent"] == 3 and err == ""

    code, out, _ = run(["pacs", "find", "orthanc", "--accession", GE_ACCESSION, "--json"], capsys)
    studies = json.loads(out)["matches"]
    assert [(study["study_uid"], study["instances"]) for study in studies] == [(ge.study_uid, 3)]
    code, out, err = run(["pacs", "find", "web", "--level", "series", "--modality", "CT"], capsys)
    assert ge.series_uid in out and err.startswith("1 series on web")

    for node, method in (("orthanc", "get"), ("orthanc", "move"), ("web", "wado")):
        shutil.rmtree(pacs_home / "received", ignore_errors=True)  # listed files gone: each method transfers them
        code, out, _ = run(["pacs", "retrieve", node, "--study", ge.study_uid, "--series", ge.series_uid,
                            "--method", method, "--json"], capsys)
        summary = json.loads(out)
        assert code == 0 and (summary["received"], summary["already_present"], summary["method"]) == (3, 0, method)
    code, out, _ = run(["pacs", "retrieve", "orthanc", "--study", ge.study_uid], capsys)
    assert code == 0 and out.startswith("retrieved 0 instances of study ") and "already present 3" in out
    with StudyDatabase() as database:
        rows = database.series(ge.study_uid)
        files = database.series_files(rows[0])
    assert len(rows) == 1 and len(files) == 3
    received, original = load_dicom(files[0].parent), load_dicom(ge.folder)
    assert np.array_equal(received.array, original.array) and np.allclose(received.affine, original.affine)


@pytest.mark.private_network
def test_each_failure_is_one_line_naming_the_node(orthanc, fresh_orthanc, pacs_home, capsys):
    add_orthanc(capsys, "gone", port=4299)
    add_orthanc(capsys, "misnamed", ae_title="NOTORTHANC")
    add_orthanc(capsys, "stalled", port=4243, timeout="1")
    expected = {
        "gone": "gone (ORTHANC@127.0.0.1:4299): cannot connect (connection refused",
        "misnamed": "misnamed (NOTORTHANC@127.0.0.1:4242): association rejected: the node does not answer to the "
                    "AE title NOTORTHANC",
        "stalled": "stalled (ORTHANC@127.0.0.1:4243): no answer to the association request within 1 s",
    }
    fresh_orthanc.pause()
    try:
        for name, message in expected.items():
            code, out, err = run(["pacs", "find", name, "--json"], capsys)
            assert code == 1 and out == ""
            assert err.startswith(f"medstation pacs: error: {message}") and err.count("\n") == 1
    finally:
        fresh_orthanc.resume()
    add_orthanc(capsys, "orthanc")
    run(["pacs", "local", "--ae-title", "UNKNOWN"], capsys)
    code, _, err = run(["pacs", "retrieve", "orthanc", "--study", "1.2.3"], capsys)
    assert code == 1 and "association rejected: the node does not know MedStation's AE title UNKNOWN" in err


@pytest.mark.private_network
def test_listen_stores_what_orthanc_pushes(orthanc, seeded, pacs_home):
    env = {**os.environ, "MEDSTATION_HOME": str(pacs_home), "PYTHONUNBUFFERED": "1"}
    listener = subprocess.Popen([sys.executable, "-m", "medstation", "pacs", "listen"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "listening as MEDSTATION on 127.0.0.1:11112" in listener.stderr.readline()
        study = orthanc.post("/tools/lookup", seeded["ge"].study_uid)[0]["ID"]
        orthanc.post("/modalities/MEDSTATION/store", {"Resources": [study], "Synchronous": True})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not listed_images(pacs_home, seeded["ge"].study_uid):
            time.sleep(0.2)
    finally:
        listener.terminate()
        out, err = listener.communicate(timeout=30)
    assert out.startswith("received 3 instances of 1 study from ORTHANC (127.0.0.1:")
    assert listener.returncode == 0 and "stopped: 3 instances received" in err
    assert listed_images(pacs_home, seeded["ge"].study_uid) == [3]


def listed_images(home, study_uid: str) -> list[int]:
    if not (home / "studies.sqlite").exists():
        return []
    with StudyDatabase(home / "studies.sqlite") as database:
        return [row.images for row in database.series(study_uid)]
