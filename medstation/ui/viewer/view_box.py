"""A pyqtgraph ViewBox with radiology mouse bindings instead of pyqtgraph's own (docs/design.md §8).

pyqtgraph's defaults (wheel zoom, right-drag zoom, left-drag pan, right-click menu) are switched off;
every mouse gesture is handed to callbacks in view coordinates (screen mm, y down) so the slice view
decides what it means.
"""

from __future__ import annotations

from collections.abc import Callable

import pyqtgraph as pg
from PySide6.QtCore import QPointF

WHEEL_STEP = 120
"""One notch of a standard mouse wheel, in Qt's eighths of a degree."""


class ReviewViewBox(pg.ViewBox):
    """ViewBox that reports wheel, drag, click and hover to callbacks and never moves by itself.

    Callbacks (all optional, set as attributes):
    ``on_wheel(steps: int, modifiers)``, ``on_click(button, point: QPointF)``,
    ``on_drag(button, phase: "start"|"move"|"finish", start: QPointF, previous: QPointF, point: QPointF,
    pixel_delta: QPointF)`` with points in view coordinates (mm) and ``pixel_delta`` in widget pixels since
    the previous event, ``on_hover(point: QPointF | None)``.
    """

    def __init__(self) -> None:
        super().__init__(enableMenu=False, invertY=True, lockAspect=True)
        self.setMouseEnabled(False, False)
        self.enableAutoRange(enable=False)
        self.on_wheel: Callable | None = None
        self.on_click: Callable | None = None
        self.on_drag: Callable | None = None
        self.on_hover: Callable | None = None
        self._wheel_remainder = 0

    def wheelEvent(self, ev, axis=None) -> None:
        ev.accept()
        self._wheel_remainder += ev.delta()
        steps = int(self._wheel_remainder / WHEEL_STEP)
        self._wheel_remainder -= steps * WHEEL_STEP
        if steps and self.on_wheel is not None:
            self.on_wheel(steps, ev.modifiers())

    def mouseClickEvent(self, ev) -> None:
        ev.accept()
        if self.on_click is not None:
            self.on_click(ev.button(), self.mapSceneToView(ev.scenePos()))

    def mouseDragEvent(self, ev, axis=None) -> None:
        ev.accept()
        if self.on_drag is None:
            return
        phase = "start" if ev.isStart() else "finish" if ev.isFinish() else "move"
        pixel_delta = ev.scenePos() - ev.lastScenePos()
        self.on_drag(
            ev.button(),
            phase,
            self.mapSceneToView(ev.buttonDownScenePos()),
            self.mapSceneToView(ev.lastScenePos()),
            self.mapSceneToView(ev.scenePos()),
            QPointF(pixel_delta),
        )

    def hoverEvent(self, ev) -> None:
        if self.on_hover is None:
            return
        self.on_hover(None if ev.isExit() else self.mapSceneToView(ev.scenePos()))

    def raiseContextMenu(self, ev) -> None:
        ev.accept()


MOUSE_BINDINGS: tuple[tuple[str, str], ...] = (
    ("Scroll slices", "Mouse wheel"),
    ("Zoom", "Ctrl + mouse wheel"),
    ("Pan", "Middle-drag"),
    ("Window / level", "Right-drag (right: wider, down: brighter)"),
    ("Move the linked crosshair", "Left-click or left-drag (crosshair tool)"),
    ("Measure", "Left-drag (ruler, rectangle or ellipse tool)"),
)
"""Mouse gestures of the slice views, for the shortcut help next to the keyboard actions."""
