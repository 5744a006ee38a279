"""The PACS window against a real Orthanc (in a private network namespace): Echo, a query, a retrieve whose study
appears in the study browser while the transfer runs, sending the open series, and receiving pushes."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QTreeWidgetItemIterator

from medstation.io.pacs.nodes import PacsNode, save_node
from medstation.ui.jobs import JobState

pytestmark = pytest.mark.private_network
WAIT_MS = 60_000


def browser_texts(window) -> list[str]:
    texts, iterator = [], QTreeWidgetItemIterator(window.study_browser.tree)
    while iterator.value():
        texts.append(iterator.value().text(0))
        iterator += 1
    return texts


def finish(qtbot, job) -> None:
    assert job is not None
    qtbot.waitUntil(lambda: job.state.finished, timeout=WAIT_MS)
    assert job.state is JobState.SUCCEEDED, job.error


def test_echo_search_and_retrieve_into_the_study_browser(qtbot, make_window, orthanc, seeded, pacs_home):
    save_node(PacsNode("orthanc", "ORTHANC", "127.0.0.1", 4242, timeout_s=10))
    window = make_window()
    pacs = window.show_pacs()
    assert pacs.current_node().name == "orthanc"
    assert [pacs.method.itemText(i) for i in range(pacs.method.count())] == ["C-GET", "C-MOVE"]

    finish(qtbot, pacs.echo())
    assert pacs.status.text().startswith("orthanc (ORTHANC@127.0.0.1:4242): answered in")

    pacs.modality.setText("CT")
    finish(qtbot, pacs.search())
    assert pacs.results.topLevelItemCount() == 1 and pacs.status.text() == "1 study on orthanc"
    assert pacs.results.topLevelItem(0).text(3) == "HEAD"

    seen_while_running = []
    pacs.studies_changed.connect(lambda: seen_while_running.append(
        pacs.job.state is JobState.RUNNING and any("QMNx85rKkkg" in text for text in browser_texts(window))))
    pacs.results.topLevelItem(0).setSelected(True)
    job = pacs.retrieve()
    finish(qtbot, job)
    assert any(seen_while_running), "the study did not appear in the browser while it was being received"
    assert pacs.status.text().startswith("Retrieved 3 instances of 1 study or series")
    assert any("HEAD" in text for text in browser_texts(window))


def test_the_open_series_is_sent_and_pushes_are_received(qtbot, make_window, orthanc, fresh_orthanc, seeded,
                                                         pacs_home):
    save_node(PacsNode("orthanc", "ORTHANC", "127.0.0.1", 4242, timeout_s=10))
    save_node(PacsNode("empty", url=fresh_orthanc.dicomweb_url, timeout_s=10))
    window = make_window()
    pacs = window.show_pacs()
    finish(qtbot, pacs.set_receiving(True))
    study = orthanc.post("/tools/lookup", seeded["mr"].study_uid)[0]["ID"]
    orthanc.post("/modalities/MEDSTATION/store", {"Resources": [study], "Synchronous": True})
    qtbot.waitUntil(lambda: any("stc_test" in text for text in browser_texts(window)), timeout=WAIT_MS)

    row = window.database.series(seeded["mr"].study_uid)[0]
    window.opener.open_series(row)
    qtbot.waitUntil(lambda: window.viewer.state is not None, timeout=WAIT_MS)
    pacs.nodes.setCurrentRow(1)
    assert pacs.current_node().name == "empty" and pacs.method.currentText() == "WADO-RS"
    finish(qtbot, pacs.send_open_series())
    assert pacs.status.text() == "Sent 1 instances to empty (http://127.0.0.1:8043/dicom-web)"
    assert fresh_orthanc.get("/statistics")["CountInstances"] == 1
    finish(qtbot, pacs.set_receiving(False))
