"""A model bundle's card (docs/README.md): read in a job, shown in a non-modal dialog."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

from medstation.ui.jobs import Job, JobRunner


def read_model_card(name: str, progress=None, cancel=None) -> str:
    """The card of the bundle ``name`` (a registry name or a folder)."""
    from medstation.engine.bundles.registry import find_bundle

    return find_bundle(name).model_card()


def show_model_card(runner: JobRunner, name: str, parent: QWidget) -> Job:
    """Read the card of ``name`` in a job, then show it over ``parent``."""
    job = runner.submit("Read model card", read_model_card, name)
    job.succeeded.connect(lambda text: model_card_dialog(name, text, parent))
    return job


def model_card_dialog(name: str, text: str, parent: QWidget) -> QDialog:
    dialog = QDialog(parent)
    dialog.setWindowTitle(f"Model card: {name}")
    browser = QTextBrowser()
    browser.setMarkdown(text)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    layout.addWidget(browser)
    layout.addWidget(buttons)
    dialog.resize(640, 720)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog
