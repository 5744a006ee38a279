"""File > Preferences: the compute device, saved where the command line reads it too."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QWidget

from medstation.engine.runtime.device import CHOICES, ENV_VARIABLE
from medstation.settings import settings_location


class PreferencesDialog(QDialog):
    def __init__(self, device: str, environment_override: str | None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.device = QComboBox()
        self.device.addItems(list(CHOICES))
        self.device.setCurrentText(device if device in CHOICES else "auto")
        layout = QFormLayout(self)
        layout.addRow("Compute device", self.device)
        note = "auto picks CUDA, then Apple MPS, then the CPU."
        note += f"\nSaved in {settings_location()}; medstation commands use it too."
        if environment_override:
            note += f"\n{ENV_VARIABLE}={environment_override} is set and takes precedence."
        layout.addRow(QLabel(note))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addRow(buttons)

    def chosen_device(self) -> str:
        return self.device.currentText()
