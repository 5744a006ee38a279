"""Hanging protocols in the workstation: a series opens laid out and windowed as the user's first matching rule
says (:mod:`medstation.io.hanging_protocols`), and the rule's name stays in the status bar while it is shown.

A rule that asks for the prior beside the image (``compare_with_prior``) emits :attr:`HangingProtocols.prior_wanted`
with the opened series' info: the hook for the Compare layout, which shows the prior; the rule's layout and window
apply either way.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QLabel

from medstation.core.hanging_protocols import Protocol, preset_number, protocol_for
from medstation.core.view_state import ViewState
from medstation.core.volume import Volume
from medstation.core.window_level import window_reads
from medstation.io.hanging_protocols import load_protocols, protocols_file
from medstation.ui.viewer.viewer_widget import ViewerWidget

log = logging.getLogger(__name__)


class HangingProtocols(QObject):
    """Shows volumes in a viewer as the matching rule says; :attr:`label` names the rule (for the status bar).

    Signals
    -------
    prior_wanted(VolumeInfo)
        The rule of the series just shown asks for the patient's prior beside it.
    """

    prior_wanted = Signal(object)

    def __init__(self, parent: QObject | None = None, path: Path | None = None):
        super().__init__(parent)
        self.path = path
        """The rules file; None: ``hanging-protocols.json`` in the user data folder."""
        self.protocol: Protocol | None = None
        """The rule of the series shown last (None: no rule matched)."""
        self.label = QLabel("")
        self.label.setObjectName("hanging-protocol")

    def show(self, viewer: ViewerWidget, volume: Volume) -> Protocol | None:
        """Show ``volume`` in ``viewer`` with the layout and window of the first rule that matches it; returns the
        rule (None when none matches: the viewer's own layout and the image's window)."""
        self.protocol = protocol = protocol_for(volume, load_protocols(self.path))
        viewer.set_volume(volume, layout=protocol.layout if protocol else None)
        problem = apply_window(viewer.state, protocol)
        if protocol is None:
            self.label.setText("")
            self.label.setToolTip("")
            return None
        log.info("hanging protocol %r (%s)", protocol.name, protocol.summary())
        self.label.setText(f"Protocol: {protocol.name}")
        self.label.setToolTip(f"Hanging protocol {protocol.name}: {protocol.summary() or 'no changes'}"
                              f"{f'; {problem}' if problem else ''}\nRules: {self.path or protocols_file()}")
        if protocol.compare_with_prior:
            self.prior_wanted.emit(volume.info)
        return protocol

    def edit(self) -> Path:
        """Open the rules file in the desktop's editor for it (written with the default rules if missing)."""
        path = self.path or protocols_file()
        load_protocols(path)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))
        return path


def apply_window(state: ViewState, protocol: Protocol | None) -> str:
    """Apply the rule's window preset (by name, keeping inversion); returns what went wrong, or an empty text."""
    if protocol is None or not protocol.window:
        return ""
    number = preset_number(state.presets, protocol.window)
    if number is None:
        names = ", ".join(preset.name for preset in state.presets)
        problem = f"no window preset named {protocol.window!r} for this image ({names}); its own window is kept"
        log.info("hanging protocol %r: %s", protocol.name, problem)
        return problem
    preset = state.presets[number - 1]
    if not window_reads(preset, state.volume):
        problem = f"the {preset.name} window would show this image all black or white; its own window is kept"
        log.info("hanging protocol %r: %s", protocol.name, problem)
        return problem
    state.apply_preset(number)
    return ""
