"""One slice view (axial, coronal, sagittal, or a slab MIP) of a shared :class:`ViewState`.

The picture is a pyqtgraph ImageItem in row-major order on a y-down ViewBox whose coordinates are
screen millimetres of the display plane (:mod:`medstation.core.reslice`); the item's transform carries
the pixel spacing, and for oblique or tilted volumes the true shape. Grey levels come from the shared
window through a look-up table, never from pyqtgraph's auto-levels.

A key image (Tools > Flag as key image) carries a KEY badge in the view's top-left corner, under the patient
text, while the view shows it: a view of the acquisition plane (the one whose slices are the images, voxel axis
``k``) on a flagged slice. Reformatted planes and MIPs show no single image, so never the badge.
"""

from __future__ import annotations

from functools import partial
from typing import Protocol

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QPen, QTransform
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsItem, QGraphicsRectItem, QLabel, QVBoxLayout, QWidget

from medstation.core.events import Event
from medstation.core.layers import OverlayLayer, colour_legend
from medstation.core.measurements import (
    MILLIMETRES,
    PIXELS,
    Measurement,
    Region,
    Ruler,
    area_text,
    length_text,
    region_statistics,
)
from medstation.core.reslice import DisplayPlane, extract_slice, maximum_intensity_projection
from medstation.core.view_state import ViewState
from medstation.core.volume import VolumeInfo
from medstation.core.window_level import apply_window, dragged_window, grey_lookup_table
from medstation.ui.viewer import annotations
from medstation.ui.viewer.colour_legend import ColourLegendWidget
from medstation.ui.viewer.view_box import ReviewViewBox

TOOLS = ("crosshair", "ruler", "rectangle", "ellipse")
ZOOM_STEP = 1.25
_CROSSHAIR_COLOR = QColor(80, 200, 255, 170)
_MEASURE_COLOR = QColor(255, 220, 60)
_LABEL_STYLE = "color: #ffd54a; font-weight: bold; font-size: 15px; background: transparent;"
_CORNER_STYLE = "color: #e6e6e6; font-size: 11px; background: transparent;"
_KEY_STYLE = ("color: black; background: #ffb300; font-weight: bold; font-size: 11px; border-radius: 3px; "
              "padding: 1px 5px;")
KEY_MARK_TEXT = "KEY"
SLICE_AXIS = 2
"""The voxel axis ``k``: a view whose planes are normal to it shows the series' own images."""


class KeyImageFlags(Protocol):
    """What a view asks of the reader's key images (:class:`medstation.ui.export.key_images.KeyImages`)."""

    changed: Event

    def is_flagged(self, info: VolumeInfo, k: int) -> bool: ...


def _fits(metrics: QFontMetrics, room: int, line: str) -> bool:
    return metrics.horizontalAdvance(line) <= room


class SliceView(QWidget):
    """A view of ``state`` in plane ``view``; with ``mip=True`` a slab MIP of the active view's plane.

    Parameters
    ----------
    state
        The shared viewer model; this view subscribes to its events.
    view
        ``"axial"``, ``"coronal"`` or ``"sagittal"``; for a MIP view, the starting plane.

    Signals
    -------
    readout_changed(str)
        Voxel, LPS position (mm) and value under the cursor, or "" when it leaves the volume.
    """

    readout_changed = Signal(str)

    def __init__(self, state: ViewState, view: str, mip: bool = False, parent: QWidget | None = None,
                 key_images: KeyImageFlags | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.view = view
        self.mip = mip
        self.tool = "crosshair"
        self._shown_key: tuple | None = None
        self._overlay_key: tuple | None = None
        self._lookup_key: tuple | None = None
        self._lookup: np.ndarray | None = None
        self._drag_start_window = state.window
        self._drag_pixels = QPointF(0, 0)
        self._drawing: QGraphicsItem | None = None
        self._measurement_items: dict[int, list] = {}
        self._overlay_items: list[pg.ImageItem] = []

        self.graphics = pg.GraphicsView(background="k")
        for widget in (self.graphics, self.graphics.viewport()):
            widget.setAcceptDrops(False)  # files dropped on an image go on to the window, which opens them
        self.view_box = ReviewViewBox()
        self.graphics.setCentralItem(self.view_box)
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.view_box.addItem(self.image_item)
        pen = pg.mkPen(_CROSSHAIR_COLOR, width=1)
        self.crosshair = (pg.InfiniteLine(angle=90, pen=pen), pg.InfiniteLine(angle=0, pen=pen))
        for line in self.crosshair:
            line.setZValue(20)
            self.view_box.addItem(line, ignoreBounds=True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.graphics)

        self.edge_labels = {edge: self._label(_LABEL_STYLE) for edge in ("left", "right", "top", "bottom")}
        self.corner_labels = {corner: self._label(_CORNER_STYLE) for corner in
                              ("top_left", "top_right", "bottom_left", "bottom_right")}
        self.corner_labels["top_right"].setAlignment(Qt.AlignmentFlag.AlignRight)
        self.corner_labels["bottom_right"].setAlignment(Qt.AlignmentFlag.AlignRight)
        self.readout = ""
        self._texts_key: tuple | None = None
        self._patient_text = annotations.patient_text(state)
        self._series_text = annotations.series_text(state)
        self.colour_legend = ColourLegendWidget(self)
        self.key_images = key_images
        self.key_mark = self._label(_KEY_STYLE)
        self.key_mark.setText(KEY_MARK_TEXT)
        self.key_mark.setToolTip("A key image (Tools > Flag as key image, K)")
        self.key_mark.hide()
        self._annotations_visible = True

        self.view_box.on_wheel = self._wheel
        self.view_box.on_click = self._click
        self.view_box.on_drag = self._drag
        self.view_box.on_hover = self._hover
        self.view_box.sigResized.connect(self._apply_camera)
        self._subscriptions = (
            (state.point_changed, self.refresh),
            (state.time_changed, self.refresh),
            (state.window_changed, self.refresh),
            (state.layers_changed, self._rebuild_overlays),
            (state.mip_changed, self.refresh),
            (state.camera_changed, self._camera_changed),
            (state.active_view_changed, self._active_view_changed),
            (state.measurements.added, self._measurement_added),
            (state.measurements.removed, self._measurement_removed),
            *([(key_images.changed, self._update_key_mark)] if key_images is not None else []),
        )
        for event, callback in self._subscriptions:
            event.connect(callback)
        self.setMinimumSize(160, 160)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self._rebuild_overlays()
        for measurement in state.measurements.items:
            self._measurement_added(measurement)
        self._apply_camera()

    # model -------------------------------------------------------------------------------------------
    @property
    def plane(self) -> DisplayPlane:
        return self.state.planes[self.view]

    @property
    def slice_index(self) -> int:
        return self.state.slice_index(self.view)

    def detach(self) -> None:
        """Stop listening to the state (call before the widget is deleted)."""
        for event, callback in self._subscriptions:
            event.disconnect(callback)

    # drawing -----------------------------------------------------------------------------------------
    def refresh(self, force: bool = False) -> None:
        """Redraw what changed: picture on a new slice, time, window or slab; overlays on a new slice, time or
        slab; the crosshair and texts always. Hidden views wait until they are shown."""
        if self.isHidden():
            return
        state = self.state
        place = (self.view, self.slice_index, state.time_index, state.mip_thickness_mm if self.mip else None)
        if force or (place, state.window) != self._shown_key:
            self._shown_key = (place, state.window)
            self._draw_picture()
        if force or place != self._overlay_key:
            self._overlay_key = place
            self._draw_overlays()
            self._update_measurement_visibility()
        self._draw_crosshair()
        self._update_texts()
        self._update_key_mark()

    def shows_key_image(self) -> bool:
        """True when this view shows one of the series' images and the reader flagged it as a key image."""
        return (self.key_images is not None and not self.mip and self.plane.normal_axis == SLICE_AXIS
                and self.key_images.is_flagged(self.state.volume.info, self.slice_index))

    def _update_key_mark(self) -> None:
        shown = self._annotations_visible and self.shows_key_image()
        if shown == self.key_mark.isHidden():
            self.key_mark.setVisible(shown)
            self._place_labels()

    def _draw_picture(self) -> None:
        state, plane, index = self.state, self.plane, self.slice_index
        if self.mip:
            image = maximum_intensity_projection(state.array, plane, index, state.mip_thickness_mm)
        else:
            image = extract_slice(state.array, plane, index)
        lookup_key = (state.window, image.dtype)
        if lookup_key != self._lookup_key:
            self._lookup_key = lookup_key
            self._lookup = grey_lookup_table(state.window, image.dtype)
        grey = apply_window(image, state.window, self._lookup)
        self.image_item.setImage(grey, autoLevels=False, levels=(0, 255))
        self.image_item.setTransform(self._item_transform(index))

    def _item_transform(self, index: int) -> QTransform:
        """Item pixel edges to screen mm: pixel ``(c, r)``'s centre sits at ``pixel_to_screen @ (c, r, 1)``."""
        matrix = self.plane.pixel_to_screen(index)
        linear = matrix[:, :2]
        shift = matrix[:, 2] - linear @ np.array([0.5, 0.5])
        return QTransform(linear[0, 0], linear[1, 0], linear[0, 1], linear[1, 1], shift[0], shift[1])

    def _rebuild_overlays(self) -> None:
        """One ImageItem per layer (made or dropped when the count changes), then redraw the overlays and show the
        colour legend of the visible heat map, if any."""
        self.colour_legend.set_legend(colour_legend(self.state.layers))
        self._place_labels()
        while len(self._overlay_items) > len(self.state.layers):
            self.view_box.removeItem(self._overlay_items.pop())
        while len(self._overlay_items) < len(self.state.layers):
            item = pg.ImageItem(axisOrder="row-major")
            item.setZValue(10 + len(self._overlay_items))
            self.view_box.addItem(item)
            self._overlay_items.append(item)
        self._overlay_key = None
        self.refresh()

    def _draw_overlays(self) -> None:
        index = self.slice_index
        transform = self._item_transform(index)
        for layer, item in zip(self.state.layers, self._overlay_items, strict=True):
            item.setVisible(layer.visible)
            if layer.visible:
                item.setImage(layer.colour(self._layer_image(layer, index)), autoLevels=False, levels=None)
                item.setTransform(transform)

    def _layer_image(self, layer: OverlayLayer, index: int) -> np.ndarray:
        data = layer.display_volume()
        data = data[self.state.time_index] if data.ndim == 4 else data
        if self.mip:
            return maximum_intensity_projection(data, self.plane, index, self.state.mip_thickness_mm)
        return extract_slice(data, self.plane, index)

    def _draw_crosshair(self) -> None:
        x, y = self.plane.screen_of_patient(self.state.point)
        self.crosshair[0].setValue(float(x))
        self.crosshair[1].setValue(float(y))

    # texts -------------------------------------------------------------------------------------------
    def _label(self, style: str) -> QLabel:
        label = QLabel(self)
        label.setStyleSheet(style)
        label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        return label

    def _update_texts(self) -> None:
        """Set the edge letters and corner texts; labels are only touched (elided, re-placed) when they change.

        The cursor readout is the first line of the bottom-left block, above the height of the two-line
        bottom-right block, so it may use the view's whole width.
        """
        state = self.state
        slice_text = annotations.slice_text(state, self.view, state.mip_thickness_mm if self.mip else None)
        texts = {
            "top_left": self._patient_text,
            "top_right": self._series_text,
            "bottom_left": slice_text,
            "bottom_right": annotations.window_text(state, self.view),
            **state.edge_labels(self.view),
        }
        room = max(60, self.width() // 2 - 28)
        key = (room, self.readout, tuple(texts.values()))
        if key == self._texts_key:
            return
        self._texts_key = key
        for edge, label in self.edge_labels.items():
            label.setText(texts[edge])
        # The bottom-left lines above the height of the bottom-right block (slice number) may use the whole width.
        above_right = texts["bottom_left"].count("\n") - texts["bottom_right"].count("\n")
        for corner, label in self.corner_labels.items():
            metrics = QFontMetrics(label.font())
            lines = [
                annotations.elide_words(line, partial(_fits, metrics, self.width() - 8 if wide else room))
                for number, line in enumerate(texts[corner].split("\n"))
                for wide in [corner == "bottom_left" and number < above_right]
            ]
            if corner == "bottom_left" and self.readout:
                lines.insert(0, metrics.elidedText(self.readout, Qt.TextElideMode.ElideRight, self.width() - 8))
            label.setText("\n".join(lines))
        self._place_labels()

    def set_annotations_visible(self, visible: bool) -> None:
        """Show or hide the edge letters, corner texts and crosshair (for screenshots without annotations)."""
        for label in (*self.edge_labels.values(), *self.corner_labels.values()):
            label.setVisible(visible)
        for line in self.crosshair:
            line.setVisible(visible)
        self._annotations_visible = visible
        self._update_key_mark()

    def resizeEvent(self, event) -> None:
        """Texts are re-elided for the new width and every label is moved to the new corners and edges."""
        super().resizeEvent(event)
        self._update_texts()
        self._place_labels()

    def _place_labels(self) -> None:
        width, height, margin = self.width(), self.height(), 4
        for label in (*self.edge_labels.values(), *self.corner_labels.values()):
            label.adjustSize()
        left, right = self.edge_labels["left"], self.edge_labels["right"]
        top, bottom = self.edge_labels["top"], self.edge_labels["bottom"]
        left.move(margin, (height - left.height()) // 2)
        right.move(width - right.width() - margin, (height - right.height()) // 2)
        top.move((width - top.width()) // 2, margin)
        bottom.move((width - bottom.width()) // 2, height - bottom.height() - margin)
        corners = self.corner_labels
        corners["top_left"].move(margin, margin)
        corners["top_right"].move(width - corners["top_right"].width() - margin, margin)
        corners["bottom_left"].move(margin, height - corners["bottom_left"].height() - margin)
        corners["bottom_right"].move(width - corners["bottom_right"].width() - margin,
                                     height - corners["bottom_right"].height() - margin)
        if not self.key_mark.isHidden():  # top left, under the patient text
            self.key_mark.adjustSize()
            self.key_mark.move(margin, corners["top_left"].y() + corners["top_left"].height() + margin)
        legend = self.colour_legend
        if legend.legend is not None:  # top right, under the series text and above the right edge's letter
            top = corners["top_right"].y() + corners["top_right"].height() + margin
            legend.fit_height(right.y() - margin - top)
            legend.adjustSize()
            legend.move(width - legend.width() - margin, top)

    # camera ------------------------------------------------------------------------------------------
    def fitted_rect(self) -> QRectF:
        """Screen rectangle (mm) holding every slice of the stack, at zoom 1."""
        x0, y0, x1, y1 = self.plane.screen_extent()
        return QRectF(x0, y0, x1 - x0, y1 - y0)

    def _apply_camera(self, *_) -> None:
        camera = self.state.cameras[self.view]
        fitted = self.fitted_rect()
        center = fitted.center() + QPointF(camera.pan_x, camera.pan_y)
        width, height = fitted.width() / camera.zoom, fitted.height() / camera.zoom
        self.view_box.setRange(QRectF(center.x() - width / 2, center.y() - height / 2, width, height), padding=0.02)

    def _camera_changed(self, view: str) -> None:
        if view == self.view:
            self._apply_camera()
            self._update_texts()

    def _active_view_changed(self, view: str) -> None:
        if self.mip and view != self.view:
            self.view = view
            self._apply_camera()
            self.refresh(force=True)

    # mouse -------------------------------------------------------------------------------------------
    def _slice_step_sign(self) -> int:
        """+1 when increasing slice index moves along the displayed plane's normal (toward S, P or R)."""
        return 1 if np.dot(self.plane.slice_step, self.plane.plane_normal) >= 0 else -1

    def step(self, steps: int) -> None:
        """Scroll ``steps`` slices (positive: toward superior in axial, posterior in coronal, right in sagittal)."""
        self.state.step_slice(self.view, steps * self._slice_step_sign())

    def _wheel(self, steps: int, modifiers) -> None:
        self.state.set_active_view(self.view)
        if modifiers & Qt.KeyboardModifier.ControlModifier:
            self.state.zoom(self.view, ZOOM_STEP**steps)
        else:
            self.step(steps)

    def _click(self, button, point: QPointF) -> None:
        self.state.set_active_view(self.view)
        self.setFocus()
        if button == Qt.MouseButton.LeftButton and self.tool == "crosshair":
            self.move_crosshair_to(point.x(), point.y())

    def move_crosshair_to(self, x: float, y: float) -> None:
        """Move the shared point to screen ``(x, y)`` (mm) on this view's current slice."""
        self.state.set_voxel(self.voxel_at(x, y))

    def voxel_at(self, x: float, y: float) -> np.ndarray:
        """Continuous voxel ``(i, j, k)`` under screen point ``(x, y)`` (mm) on the current slice."""
        index = self.slice_index
        column, row = self.plane.pixel_of_screen(x, y, index)
        return self.plane.voxel_of_pixel(column, row, index)

    def patient_at(self, x: float, y: float) -> np.ndarray:
        """LPS point (mm) under screen point ``(x, y)`` (mm) on the current slice."""
        return self.state.volume.voxel_to_patient(self.voxel_at(x, y))

    def _drag(self, button, phase: str, start: QPointF, previous: QPointF, point: QPointF, pixels: QPointF) -> None:
        state = self.state
        if phase == "start":
            state.set_active_view(self.view)
        if button == Qt.MouseButton.RightButton:
            if phase == "start":
                self._drag_start_window = state.window
                self._drag_pixels = QPointF(0, 0)
            self._drag_pixels += pixels
            state.set_window(dragged_window(self._drag_start_window, self._drag_pixels.x(), self._drag_pixels.y(),
                                            state.value_span))
        elif button == Qt.MouseButton.MiddleButton:
            state.pan(self.view, -(point.x() - previous.x()), -(point.y() - previous.y()))
        elif button == Qt.MouseButton.LeftButton:
            if self.tool == "crosshair":
                self.move_crosshair_to(point.x(), point.y())
            else:
                self._draw_measurement(phase, start, point)

    # measurements ------------------------------------------------------------------------------------
    def _draw_measurement(self, phase: str, start: QPointF, point: QPointF) -> None:
        if self._drawing is not None:
            self.view_box.removeItem(self._drawing)
            self._drawing = None
        if phase != "finish":
            self._drawing = self._shape_item(self.tool, start.x(), start.y(), point.x(), point.y())
            self.view_box.addItem(self._drawing, ignoreBounds=True)
            return
        if (point - start).manhattanLength() <= 0:
            return
        self.state.measurements.add(self.measure(self.tool, start.x(), start.y(), point.x(), point.y()))

    def measure(self, tool: str, x0: float, y0: float, x1: float, y1: float) -> Measurement:
        """A ruler or region between screen points ``(x0, y0)`` and ``(x1, y1)`` (mm) on the current slice."""
        index = self.slice_index
        unit = MILLIMETRES if self.state.volume.spacing_known else PIXELS
        if tool == "ruler":
            return Ruler(self.view, index, self.patient_at(x0, y0), self.patient_at(x1, y1), unit=unit)
        image = extract_slice(self.state.array, self.plane, index)
        bounds = (x0, y0, x1, y1)
        statistics = region_statistics(image, self.plane.pixel_to_screen(index), tool, bounds)
        corners = np.array([self.patient_at(x, y) for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))])
        return Region(self.view, index, tool, bounds, statistics, corners, unit=unit)

    def _shape_item(self, tool: str, x0: float, y0: float, x1: float, y1: float):
        pen = QPen(_MEASURE_COLOR)
        pen.setCosmetic(True)
        pen.setWidthF(1.5)
        if tool == "ruler":
            return pg.PlotCurveItem([x0, x1], [y0, y1], pen=pen)
        rect = QRectF(QPointF(x0, y0), QPointF(x1, y1)).normalized()
        item = QGraphicsRectItem(rect) if tool == "rectangle" else QGraphicsEllipseItem(rect)
        item.setPen(pen)
        return item

    def _measurement_added(self, measurement: Measurement) -> None:
        if measurement.view != self.view or self.mip:
            return
        plane = self.plane
        if isinstance(measurement, Ruler):
            (x0, y0), (x1, y1) = plane.screen_of_patient(np.stack([measurement.start, measurement.end]))
            shape = self._shape_item("ruler", x0, y0, x1, y1)
            text = length_text(measurement)
            position, anchor = ((x0 + x1) / 2, min(y0, y1)), (0.5, 1.0)
        else:
            x0, y0, x1, y1 = measurement.bounds
            shape = self._shape_item(measurement.shape, x0, y0, x1, y1)
            stats = measurement.statistics
            text = (f"mean {stats.mean:.1f} SD {stats.sd:.1f}\nmin {stats.minimum:g} max {stats.maximum:g}\n"
                    f"area {area_text(measurement)}")
            position, anchor = ((x0 + x1) / 2, max(y0, y1)), (0.5, 0.0)
        label = pg.TextItem(f"#{measurement.id} {text}", color=_MEASURE_COLOR, anchor=anchor, fill=(0, 0, 0, 140))
        label.setPos(*position)
        items = [shape, label]
        for item in items:
            item.setZValue(30)
            self.view_box.addItem(item, ignoreBounds=True)
        self._measurement_items[measurement.id] = items
        self._update_measurement_visibility()

    def _measurement_removed(self, measurement: Measurement) -> None:
        for item in self._measurement_items.pop(measurement.id, []):
            self.view_box.removeItem(item)

    def _update_measurement_visibility(self) -> None:
        index = self.slice_index
        for measurement in self.state.measurements.items:
            for item in self._measurement_items.get(measurement.id, []):
                item.setVisible(measurement.slice_index == index)

    # readout -----------------------------------------------------------------------------------------
    def _hover(self, point: QPointF | None) -> None:
        readout = "" if point is None else annotations.readout_text(self.state, self.voxel_at(point.x(), point.y()))
        if readout != self.readout:
            self.readout = readout
            self.readout_changed.emit(readout)
            self._update_texts()
