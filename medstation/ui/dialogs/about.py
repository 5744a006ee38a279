"""Help > About: versions, compute device and licences."""

from __future__ import annotations

import importlib.metadata
import platform

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from medstation import __version__

LICENCES = [
    ("MedStation", "Apache-2.0"),
    ("Qt for Python (PySide6)", "LGPL-3.0"),
    ("PyTorch", "BSD-3-Clause"),
    ("MONAI", "Apache-2.0"),
    ("SimpleITK", "Apache-2.0"),
    ("pydicom", "MIT"),
    ("nibabel", "MIT"),
    ("pyqtgraph", "MIT"),
    ("NumPy", "BSD-3-Clause"),
]
DISTRIBUTIONS = ["PySide6-Essentials", "numpy", "pydicom", "nibabel", "pyqtgraph", "SimpleITK", "torch", "monai"]


def installed_versions() -> dict[str, str]:
    """Versions from package metadata (no heavy import)."""
    versions = {"Python": platform.python_version()}
    for name in DISTRIBUTIONS:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def about_html(device_label: str) -> str:
    rows = "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in installed_versions().items())
    licences = "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in LICENCES)
    return (
        f"<h2>MedStation {__version__}</h2>"
        "<p>Desktop imaging workstation for DICOM/NIfTI review and offline AI analysis.<br>"
        "AI results are decision support for trained readers, not a diagnosis.</p>"
        f"<p><b>Compute device:</b> {device_label}</p>"
        f"<h3>Versions</h3><table cellspacing='6'>{rows}</table>"
        f"<h3>Licences</h3><table cellspacing='6'>{licences}</table>"
    )


class AboutDialog(QDialog):
    def __init__(self, device_label: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("About MedStation")
        self.text = QLabel(about_html(device_label))
        self.text.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)
