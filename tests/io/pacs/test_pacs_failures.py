"""How PACS transfers fail, against a real Orthanc (in a private network namespace): each failure is one message
naming the node, no half-written file is left, and the study database lists exactly the files that are there."""

from __future__ import annotations

import logging
import threading

import pytest
from pacs_fixtures import LOCAL_AE, LOCAL_PORT, start_orthanc
from pydicom import dcmread
from pydicom.uid import generate_uid

from medstation.errors import Cancelled
from medstation.io.database import StudyDatabase
from medstation.io.pacs import operations
from medstation.io.pacs.errors import PacsError, TransferAborted
from medstation.io.pacs.listener import StorageListener
from medstation.io.pacs.nodes import LocalStation, PacsNode

pytestmark = pytest.mark.private_network
LOCAL = LocalStation(LOCAL_AE, LOCAL_PORT, "127.0.0.1")
COPIES = 40


def node_at(port: int, ae_title: str = "ORTHANC", timeout_s: float = 10) -> PacsNode:
    return PacsNode("archive", ae_title, "127.0.0.1", port, timeout_s=timeout_s)


def test_an_unreachable_node_is_named_with_the_reason(pacs_home):
    with pytest.raises(PacsError) as caught:
        operations.echo(node_at(4299), LOCAL)
    assert str(caught.value).startswith("archive (ORTHANC@127.0.0.1:4299): cannot connect (connection refused")
    web = PacsNode("web", url="http://127.0.0.1:8099/dicom-web", timeout_s=5)
    with pytest.raises(PacsError, match=r"^web \(http://127.0.0.1:8099/dicom-web\): cannot connect"):
        operations.find(web, operations.QueryFilters("study"))


def test_a_wrong_ae_title_and_an_unknown_caller_are_rejected_by_name(orthanc):
    with pytest.raises(PacsError, match="association rejected: the node does not answer to the AE title WRONGAE"):
        operations.echo(node_at(4242, "WRONGAE"), LOCAL)
    stranger = LocalStation("STRANGER", LOCAL_PORT, "127.0.0.1")
    with pytest.raises(PacsError, match="does not know MedStation's AE title STRANGER") as caught:
        operations.find(node_at(4242), operations.QueryFilters("study"), stranger)
    assert str(caught.value).startswith("archive (ORTHANC@127.0.0.1:4242): association rejected")


def test_a_node_that_stops_answering_times_out(fresh_orthanc):
    fresh_orthanc.pause()
    try:
        with pytest.raises(PacsError, match=r"archive \(ORTHANC@127.0.0.1:4243\): no answer .* within 1 s"):
            operations.echo(node_at(4243, timeout_s=1), LOCAL)
        web = PacsNode("web", url=fresh_orthanc.dicomweb_url, timeout_s=1)
        with pytest.raises(PacsError, match=r"^web \(.*\): no answer to a study search within 1 s"):
            operations.echo(web)
    finally:
        fresh_orthanc.resume()
    assert operations.echo(node_at(4243), LOCAL) > 0


def test_a_second_listener_on_the_same_port_is_refused_with_the_address(pacs_home):
    with StorageListener(LOCAL), pytest.raises(PacsError, match=r"cannot listen on 127\.0\.0\.1:11112"):
        StorageListener(LOCAL).start()


def many_instances(source_folder, folder, copies: int) -> list:
    """``copies`` instances of one series made from the GE slices (new SOP instance UIDs, same pixels)."""
    folder.mkdir()
    sources = [dcmread(path) for path in sorted(source_folder.glob("*.dcm"))]
    series = generate_uid()
    paths = []
    for number in range(copies):
        dataset = sources[number % len(sources)]
        dataset.SeriesInstanceUID = series
        dataset.SOPInstanceUID = dataset.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        dataset.InstanceNumber = number + 1
        paths.append(folder / f"{number:03d}.dcm")
        dataset.save_as(paths[-1])
    return paths


def assert_consistent(home) -> list:
    """No temporary file left; every stored file whole (pixels decode) and listed, and nothing listed is missing."""
    stored = sorted(path for path in (home / "received").rglob("*") if path.is_file())
    assert not [path for path in stored if path.name.endswith(".part")]
    for path in stored:
        dcmread(path).pixel_array  # noqa: B018 - decoding the pixels proves the file is whole
    with StudyDatabase(home / "studies.sqlite") as database:
        database.check()
        listed = sorted(path for study in database.studies() for series in database.series(study.study_uid)
                        for path in database.series_files(series))
    assert listed == stored
    return stored


@pytest.mark.slow
def test_orthanc_killed_during_a_c_get_leaves_whole_files_and_a_consistent_index(tmp_path, seeded, pacs_home):
    server = start_orthanc(tmp_path / "doomed", 4245, 8045)
    try:
        server.upload(*many_instances(seeded["ge"].folder, tmp_path / "copies", COPIES))
        study_uid = seeded["ge"].study_uid

        def kill_after_some(fraction: float, message: str) -> None:
            if 0.05 <= fraction < 1.0 and server.process.poll() is None:
                server.kill()

        with pytest.raises(TransferAborted) as caught:
            operations.retrieve(node_at(4245), study_uid, method="get", local=LOCAL, progress=kill_after_some)
        message = str(caught.value)
        assert message.startswith("archive (ORTHANC@127.0.0.1:4245): the retrieve broke off after ")
        assert "retrieve again to complete it" in message
        stored = assert_consistent(pacs_home)
        assert 0 < len(stored) < COPIES and caught.value.received == len(stored)

        server.start()
        summary = operations.retrieve(node_at(4245), study_uid, method="get", local=LOCAL)
        assert (summary.received, summary.already_present) == (COPIES - len(stored), len(stored))
        assert len(assert_consistent(pacs_home)) == COPIES
    finally:
        server.kill()


@pytest.mark.slow
@pytest.mark.parametrize("method", ["get", "move"])
def test_a_cancelled_retrieve_is_ended_with_c_cancel_and_keeps_whole_files_only(tmp_path, seeded, pacs_home, caplog,
                                                                                 method):
    port = {"get": 4246, "move": 4247}[method]
    server = start_orthanc(tmp_path / "cancelled", port, port + 3800)
    try:
        server.upload(*many_instances(seeded["ge"].folder, tmp_path / "copies", COPIES))
        cancel = threading.Event()

        def cancel_after_some(fraction: float, message: str) -> None:
            if fraction >= 0.1:
                cancel.set()

        with caplog.at_level(logging.INFO, logger="medstation.io.pacs.dimse_retrieve"), \
                pytest.raises(Cancelled, match=rf"^archive \(ORTHANC@127.0.0.1:{port}\): retrieve cancelled after"):
            operations.retrieve(node_at(port), seeded["ge"].study_uid, method=method, local=LOCAL,
                                progress=cancel_after_some, cancel=cancel)
        assert "ended the retrieve on C-CANCEL" in caplog.text, "the node was sent a C-CANCEL and ended the retrieve"
        assert "association aborted" not in caplog.text
        stored = assert_consistent(pacs_home)
        assert 0 < len(stored) < COPIES
    finally:
        server.kill()
