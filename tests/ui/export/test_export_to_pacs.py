"""File > Export…, "Send to a PACS node", against a real Orthanc (in a private network namespace): the open series
arrives as it is, and a de-identified copy arrives under new UIDs without the patient's name."""

from __future__ import annotations

import pydicom
import pytest
from sample_opening import finish, open_sample

from medstation.io.pacs import find
from medstation.io.pacs.nodes import PacsNode, save_node
from medstation.io.pacs.query import QueryFilters

pytestmark = [pytest.mark.private_network, pytest.mark.slow]


def test_the_open_series_is_sent_as_it_is_and_de_identified(qtbot, make_window, orthanc, seeded, pacs_home,
                                                            tmp_path):
    node = PacsNode("orthanc", "ORTHANC", "127.0.0.1", 4242, timeout_s=10)
    save_node(node)
    window = make_window()
    original = pydicom.dcmread(open_sample(qtbot, window, tmp_path / "study"), stop_before_pixels=True)
    before = set(orthanc.get("/studies"))
    dialog = window.show_export("pacs")
    assert not dialog.target.isVisibleTo(dialog) and dialog.node.currentData().name == "orthanc"
    try:
        finish(qtbot, dialog.start())
        assert dialog.status.text() == f"Sent 1 instances to {node}"
        (match,) = find(node, QueryFilters(level="series", study_uid=original.StudyInstanceUID,
                                           series_uid=original.SeriesInstanceUID))
        assert match.instances == 1 and match.patient_id == original.PatientID
        (instance,) = orthanc.post("/tools/lookup", original.SOPInstanceUID)
        assert orthanc.get(f"/instances/{instance['ID']}/simplified-tags")["PatientName"] == str(original.PatientName)

        dialog.deidentify.setChecked(True)
        assert dialog.keep_dates.isVisibleTo(dialog)
        finish(qtbot, dialog.start())
        assert dialog.status.text() == f"Sent 1 de-identified instances to {node}"
        (new_study,) = set(orthanc.get("/studies")) - before - {
            orthanc.post("/tools/lookup", original.StudyInstanceUID)[0]["ID"]}
        (copy,) = orthanc.get(f"/studies/{new_study}/instances")
        tags = orthanc.get(f"/instances/{copy['ID']}/simplified-tags")
        assert tags["PatientIdentityRemoved"] == "YES" and tags["PatientName"] != str(original.PatientName)
        assert tags["SOPInstanceUID"] != original.SOPInstanceUID
    finally:
        for study in set(orthanc.get("/studies")) - before:
            orthanc.delete(f"/studies/{study}")
