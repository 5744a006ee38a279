"""PACS connectivity against a real Orthanc (in a private network namespace, see tests/private_network.py): echo,
find with each filter over C-FIND and QIDO-RS, retrieve by C-GET, C-MOVE and WADO-RS with identical voxels, send by
C-STORE and STOW-RS, pushes to MedStation's Storage SCP, and basic authentication (bearer: test_pacs_bearer.py)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from pacs_fixtures import GE_ACCESSION, GE_DATE, LOCAL_AE, LOCAL_PORT, start_orthanc

from medstation.io.database import StudyDatabase
from medstation.io.dicom.series import load_dicom
from medstation.io.pacs import operations
from medstation.io.pacs.errors import PacsError
from medstation.io.pacs.listener import StorageListener
from medstation.io.pacs.nodes import LocalStation, PacsNode
from medstation.io.pacs.query import QueryFilters
from medstation.io.pacs.secrets import forget_secret, remember_for_session, secret_variable

pytestmark = pytest.mark.private_network
LOCAL = LocalStation(LOCAL_AE, LOCAL_PORT, "127.0.0.1")


def dimse_node(port: int = 4242, **fields) -> PacsNode:
    return PacsNode("orthanc", fields.pop("ae_title", "ORTHANC"), "127.0.0.1", port, timeout_s=10, **fields)


def web_node(server, **fields) -> PacsNode:
    return PacsNode("orthanc-web", url=server.dicomweb_url, timeout_s=10, **fields)


def nodes(server) -> list[PacsNode]:
    return [dimse_node(), web_node(server)]


def assert_same_voxels(original_folder, received_files) -> None:
    received = load_dicom(os.path.dirname(received_files[0]))
    original = load_dicom(original_folder)
    assert received.array.shape == original.array.shape
    assert np.array_equal(received.array, original.array)
    assert np.allclose(received.affine, original.affine)


def assert_indexed(home, seeded_study, count: int) -> None:
    with StudyDatabase(home / "studies.sqlite") as database:
        series = database.series(seeded_study.study_uid)
        assert [row.series_uid for row in series] == [seeded_study.series_uid]
        files = database.series_files(series[0])
    assert len(files) == count and all(path.is_file() for path in files)
    assert all((home / "received") in path.parents for path in files)


def test_echo_answers_over_dimse_and_dicomweb(orthanc):
    for node in nodes(orthanc):
        assert operations.echo(node, LOCAL) > 0


@pytest.mark.parametrize("kind", ["dimse", "dicomweb"])
def test_find_filters_each_attribute(orthanc, seeded, kind):
    node = dimse_node() if kind == "dimse" else web_node(orthanc)
    ge, mr = seeded["ge"], seeded["mr"]

    def studies(**filters) -> set[str]:
        return {match.study_uid for match in operations.find(node, QueryFilters("study", **filters), LOCAL)}

    assert studies() == {ge.study_uid, mr.study_uid}
    assert studies(patient_name=mr.patient_name[2:6]) == {mr.study_uid}
    assert studies(patient_id=ge.patient_id) == {ge.study_uid}
    assert studies(date_range="20140101-20141231") == {mr.study_uid}
    assert studies(date_range="2012-07-04") == {ge.study_uid}
    assert studies(date_range="-20130101") == {ge.study_uid}
    assert studies(modality="MR") == {mr.study_uid}
    assert studies(accession_number=GE_ACCESSION) == {ge.study_uid}
    assert studies(study_description="MCBI") == {mr.study_uid}
    assert studies(patient_id="nobody") == set()

    patients = operations.find(node, QueryFilters("patient", patient_id=mr.patient_id), LOCAL)
    assert [(match.patient_name, match.patient_id, match.studies) for match in patients] == [
        (mr.patient_name, mr.patient_id, 1)]

    series = operations.find(node, QueryFilters("series", modality="CT"), LOCAL)
    assert [(match.series_uid, match.study_uid, match.instances, match.accession_number) for match in series] == [
        (ge.series_uid, ge.study_uid, ge.instances, GE_ACCESSION)]
    ge_study = operations.find(node, QueryFilters("study", study_uid=ge.study_uid), LOCAL)[0]
    assert (ge_study.study_date, ge_study.modalities, ge_study.instances) == (GE_DATE, "CT", 3)


@pytest.mark.parametrize("method", ["get", "move", "wado"])
def test_retrieve_stores_indexes_and_keeps_the_voxels(orthanc, seeded, pacs_home, method):
    node = web_node(orthanc) if method == "wado" else dimse_node()
    ge = seeded["ge"]
    seen = []
    summary = operations.retrieve(node, ge.study_uid, method=method, local=LOCAL,
                                  progress=lambda fraction, message: seen.append(fraction))
    assert (summary.received, summary.failed, summary.method) == (3, 0, method)
    assert seen[-1] == 1.0
    assert_indexed(pacs_home, ge, 3)
    assert_same_voxels(ge.folder, summary.files)
    written = {path: os.stat(path).st_mtime_ns for path in summary.files}
    again = operations.retrieve(node, ge.study_uid, method=method, local=LOCAL)
    assert (again.received, again.already_present, again.files) == (0, 3, []), "a repeat transferred them again"
    assert {path: os.stat(path).st_mtime_ns for path in summary.files} == written
    assert again.as_dict()["already_present"] == 3
    assert_indexed(pacs_home, ge, 3)
    # one file lost from the disk (still listed): only that instance is asked for, by its UID
    lost = sorted(summary.files)[1]
    os.remove(lost)
    completed = operations.retrieve(node, ge.study_uid, ge.series_uid, method=method, local=LOCAL)
    assert (completed.received, completed.already_present, completed.files) == (1, 2, [lost])
    assert_indexed(pacs_home, ge, 3)
    stored = [path for path in (pacs_home / "received").rglob("*") if path.is_file()]
    assert len(stored) == 3, "a repeated retrieve added copies"
    assert_same_voxels(ge.folder, summary.files)


def test_a_move_through_a_running_listener_shares_its_store(orthanc, seeded, pacs_home):
    mr = seeded["mr"]
    with StorageListener(LOCAL, accept_pushes=False) as listener:
        summary = operations.retrieve(dimse_node(), mr.study_uid, method="move", local=LOCAL, listener=listener)
        assert summary.received == 1 and listener.store.count == 1
    assert_indexed(pacs_home, mr, 1)
    assert_same_voxels(mr.folder, summary.files)


def test_retrieving_a_study_the_node_lacks_says_so(orthanc, pacs_home):
    for node in nodes(orthanc):
        with pytest.raises(PacsError, match="holds no"):
            operations.retrieve(node, "1.2.3.4.5.6", local=LOCAL)


@pytest.mark.parametrize("kind", ["dimse", "dicomweb"])
def test_send_stores_every_instance_on_the_node(fresh_orthanc, seeded, kind):
    node = dimse_node(4243) if kind == "dimse" else web_node(fresh_orthanc)
    summary = operations.send_files(node, [seeded["ge"].folder, seeded["mr"].folder / "1.dcm"], local=LOCAL)
    assert (summary.sent, summary.refused, summary.skipped) == (4, [], [])
    assert fresh_orthanc.get("/statistics")["CountInstances"] == 4


def test_the_listener_stores_pushes_when_accepted_and_refuses_them_otherwise(orthanc, seeded, pacs_home):
    ge = seeded["ge"]
    study = orthanc.post("/tools/lookup", ge.study_uid)[0]["ID"]
    batches = []
    with StorageListener(LOCAL, accept_pushes=False, on_batch=batches.append) as listener:
        with pytest.raises(Exception, match="HTTP Error 500"):
            orthanc.post("/modalities/MEDSTATION/store", {"Resources": [study], "Synchronous": True})
        assert listener.store.count == 0
    assert batches[-1].refused >= 1 and batches[-1].instances == 0
    with StudyDatabase(pacs_home / "studies.sqlite") as database:
        assert database.studies() == []

    with StorageListener(LOCAL, accept_pushes=True, on_batch=batches.append) as listener:
        orthanc.post("/modalities/MEDSTATION/store", {"Resources": [study], "Synchronous": True})
    assert (batches[-1].instances, batches[-1].study_uids, batches[-1].calling_ae_title) == (3, (ge.study_uid,),
                                                                                          "ORTHANC")
    assert_indexed(pacs_home, ge, 3)
    assert_same_voxels(ge.folder, [str(item.path) for item in listener.store.written])


def test_basic_authentication_for_search_retrieve_and_send_with_a_session_password(tmp_path, seeded, pacs_home,
                                                                                   monkeypatch):
    server = start_orthanc(tmp_path / "guarded", 4244, 8044, users={"reader": "s3cret-word"})
    try:
        server.upload(*sorted(seeded["mr"].folder.glob("*.dcm")))
        node = PacsNode("guarded", url=server.dicomweb_url, auth="basic", username="reader", timeout_s=10)
        with pytest.raises(PacsError, match="needs a password") as missing:
            operations.echo(node)
        assert secret_variable("guarded") in str(missing.value)
        monkeypatch.setenv(secret_variable("guarded"), "wrong")
        with pytest.raises(PacsError, match="HTTP 401") as refused:
            operations.echo(node)
        assert "wrong" not in str(refused.value)
        monkeypatch.delenv(secret_variable("guarded"))
        remember_for_session("guarded", "s3cret-word")
        summary = operations.retrieve(node, seeded["mr"].study_uid)
        assert summary.received == 1
        sent = operations.send_files(node, [seeded["ge"].folder])
        assert (sent.sent, sent.refused) == (seeded["ge"].instances, [])
        matches = operations.find(node, QueryFilters("study", accession_number=GE_ACCESSION))
        assert [match.study_uid for match in matches] == [seeded["ge"].study_uid]
    finally:
        forget_secret("guarded")
        server.kill()
