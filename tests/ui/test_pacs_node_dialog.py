"""The PACS node form: DIMSE or DICOMweb fields by kind, the node it makes, and a wrong field named, not saved."""

from __future__ import annotations

from medstation.io.pacs.nodes import PacsNode
from medstation.ui.pacs.node_dialog import NodeDialog


def test_the_form_makes_a_dimse_or_a_dicomweb_node(qtbot):
    dialog = NodeDialog()
    qtbot.addWidget(dialog)
    dialog.name.setText("archive")
    dialog.ae_title.setText("ARCHIVE")
    dialog.host.setText("pacs.local")
    dialog.port.setValue(11112)
    assert dialog.node() == PacsNode("archive", "ARCHIVE", "pacs.local", 11112, timeout_s=30.0)
    assert dialog.rows.isRowVisible(dialog.host) and not dialog.rows.isRowVisible(dialog.url)

    dialog.kind.setCurrentIndex(dialog.kind.findData("dicomweb"))
    assert dialog.rows.isRowVisible(dialog.url) and not dialog.rows.isRowVisible(dialog.host)
    dialog.url.setText("https://pacs.local/dicom-web/")
    dialog.auth.setCurrentIndex(dialog.auth.findData("basic"))
    dialog.username.setText("reader")
    assert dialog.node() == PacsNode("archive", url="https://pacs.local/dicom-web", auth="basic", username="reader",
                                     timeout_s=30.0)


def test_a_wrong_field_is_named_and_the_form_stays_open(qtbot):
    dialog = NodeDialog(PacsNode("archive", "ARCHIVE", "pacs.local", 104))
    qtbot.addWidget(dialog)
    dialog.ae_title.setText("A" * 17)
    dialog.accept()
    assert "1 to 16 characters" in dialog.problem.text()
    assert dialog.result() == 0
