"""Fixtures for viewer tests: viewers that are closed and deleted before the QApplication goes away."""

from __future__ import annotations

import gc
import time

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QImage, QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication, QWidget

from medstation.core.volume import Volume, VolumeInfo, WindowPreset
from medstation.ui.viewer.slice_view import SliceView
from medstation.ui.viewer.viewer_widget import ViewerWidget

MOVE_INTERVAL_S = 0.012
"""pyqtgraph drops mouse moves closer together than 1 / mouseRateLimit (10 ms by default), as a hand never sends."""


@pytest.fixture
def make_viewer(qapp):
    """``make_viewer(volume=None, layout="1x3")``: a shown ViewerWidget, deleted after the test (``layout=None``
    keeps the one the viewer picks)."""
    viewers: list[ViewerWidget] = []

    def make(volume: Volume | None = None, layout: str | None = "1x3", size=(1200, 520)) -> ViewerWidget:
        viewer = ViewerWidget()
        viewers.append(viewer)
        viewer.resize(*size)
        if volume is not None:
            viewer.set_volume(volume)
            if layout is not None:
                viewer.set_layout(layout)
        viewer.show()
        qapp.processEvents()
        return viewer

    yield make
    for viewer in viewers:
        viewer.close_volume()
        viewer.close()
        viewer.deleteLater()
    viewers.clear()
    for _ in range(2):
        qapp.processEvents()
        qapp.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        gc.collect()
    leaked = [w for w in QApplication.topLevelWidgets() if isinstance(w, ViewerWidget | SliceView | QWidget)
              and type(w).__module__.startswith("medstation")]
    assert not leaked, f"widgets outlived the test: {leaked}"


def marker_volume(affine: np.ndarray, shape=(24, 40, 48)) -> Volume:
    """Zeros with a bright block on the patient's left and a dimmer one anterior, in any orientation."""
    array = np.zeros(shape, dtype=np.int16)
    volume = Volume(array, affine, VolumeInfo(modality="CT", window_presets=[WindowPreset(50, 100)]))
    k, j, i = np.meshgrid(*(np.arange(n) for n in shape), indexing="ij")
    lps = volume.voxel_to_patient(np.stack([i, j, k], axis=-1).astype(float))
    centre = volume.voxel_to_patient((np.array(shape[::-1]) - 1) / 2.0)
    offset = lps - centre
    array[(offset[..., 0] > 0.25 * np.abs(offset[..., 0]).max())] = 100
    array[(offset[..., 1] < -0.25 * np.abs(offset[..., 1]).max()) & (array == 0)] = 60
    return volume


def image_array(image: QImage) -> np.ndarray:
    """A grabbed picture as uint8 ``[row, col, 4]``."""
    image = image.convertToFormat(QImage.Format.Format_RGBA8888)
    buffer = np.frombuffer(image.constBits(), dtype=np.uint8, count=image.sizeInBytes())
    return buffer.reshape(image.height(), image.bytesPerLine() // 4, 4)[:, : image.width()].copy()


def viewport_point(view: SliceView, x_mm: float, y_mm: float) -> QPoint:
    """Widget pixel of the viewport under screen point ``(x, y)`` mm of a slice view."""
    scene = view.view_box.mapViewToScene(QPointF(x_mm, y_mm))
    return view.graphics.mapFromScene(scene)


def send_wheel(view: SliceView, notches: int, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    viewport = view.graphics.viewport()
    position = QPointF(viewport.width() / 2, viewport.height() / 2)
    event = QWheelEvent(position, viewport.mapToGlobal(position), QPoint(), QPoint(0, 120 * notches),
                        Qt.MouseButton.NoButton, modifiers, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(viewport, event)


def send_drag(view: SliceView, button: Qt.MouseButton, start: QPoint, end: QPoint, steps: int = 6) -> None:
    viewport = view.graphics.viewport()

    def send(kind, point: QPoint, changed: Qt.MouseButton, held) -> None:
        position = QPointF(point)
        QApplication.sendEvent(viewport, QMouseEvent(kind, position, viewport.mapToGlobal(position), changed,
                                                     held, Qt.KeyboardModifier.NoModifier))

    none = Qt.MouseButton.NoButton
    send(QMouseEvent.Type.MouseButtonPress, start, button, button)
    for step in range(1, steps + 1):
        time.sleep(MOVE_INTERVAL_S)
        send(QMouseEvent.Type.MouseMove, start + (end - start) * (step / steps), none, button)
    send(QMouseEvent.Type.MouseButtonRelease, end, button, none)


def send_click(view: SliceView, button: Qt.MouseButton, point: QPoint) -> None:
    send_drag(view, button, point, point, steps=0)
