"""Adding or editing one PACS node: DIMSE (AE title, host, port) or DICOMweb (URL, authentication)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from medstation.io.pacs.errors import PacsError
from medstation.io.pacs.nodes import PacsNode, check_node


class NodeDialog(QDialog):
    """A form for one node; :meth:`node` is the checked node once accepted."""

    def __init__(self, node: PacsNode | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("PACS node")
        self.name = QLineEdit(node.name if node else "")
        self.kind = QComboBox()
        self.kind.addItem("DIMSE (AE title, host, port)", "dimse")
        self.kind.addItem("DICOMweb (URL)", "dicomweb")
        self.ae_title = QLineEdit(node.ae_title if node else "")
        self.host = QLineEdit(node.host if node else "")
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(node.port if node and node.port else 104)
        self.url = QLineEdit(node.url if node else "")
        self.url.setPlaceholderText("http://pacs:8042/dicom-web")
        self.auth = QComboBox()
        for value in ("none", "basic", "bearer"):
            self.auth.addItem(value, value)
        self.auth.setCurrentIndex(self.auth.findData(node.auth if node else "none"))
        self.username = QLineEdit(node.username if node else "")
        self.timeout = QDoubleSpinBox()
        self.timeout.setRange(1, 3600)
        self.timeout.setValue(node.timeout_s if node else 30)
        self.timeout.setSuffix(" s")
        self.problem = QLabel("")
        self.problem.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        for label, widget in (("Name", self.name), ("Kind", self.kind), ("AE title", self.ae_title),
                              ("Host", self.host), ("Port", self.port), ("URL", self.url),
                              ("Authentication", self.auth), ("User", self.username), ("Timeout", self.timeout)):
            form.addRow(label, widget)
        form.addRow(self.problem)
        form.addRow(buttons)
        self.rows = form
        self.kind.currentIndexChanged.connect(self._show_kind)
        self.kind.setCurrentIndex(1 if node and node.url else 0)
        self._show_kind()

    def _show_kind(self) -> None:
        web = self.kind.currentData() == "dicomweb"
        for widget, shown in ((self.ae_title, not web), (self.host, not web), (self.port, not web),
                              (self.url, web), (self.auth, web), (self.username, web)):
            self.rows.setRowVisible(widget, shown)

    def node(self) -> PacsNode:
        """The node the form describes; :class:`PacsError` naming what is wrong."""
        web = self.kind.currentData() == "dicomweb"
        return check_node(PacsNode(
            self.name.text().strip(), "" if web else self.ae_title.text(), "" if web else self.host.text().strip(),
            0 if web else self.port.value(), self.url.text().strip() if web else "",
            self.auth.currentData() if web else "none", self.username.text().strip(), self.timeout.value()))

    def accept(self) -> None:
        try:
            self.node()
        except PacsError as error:
            self.problem.setText(str(error))
            return
        super().accept()
