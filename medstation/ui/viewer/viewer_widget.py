"""The viewer area: layouts (single, 1x3, 2x2 with MIP), toolbar, keyboard actions, cine and time slider.

Usage::

    viewer = ViewerWidget(parent)
    viewer.set_volume(volume)          # a Volume from medstation.io
    viewer.set_key_images(key_images)  # flagged images carry a KEY badge in the views
    menu.addActions(viewer.actions())  # every binding, with its shortcut, for menus and the shortcut help
    viewer.save_screenshot("key.png", annotations=True)
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMenu,
    QSlider,
    QSpinBox,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from medstation.core.layers import OverlayLayer
from medstation.core.measurements import measurement_from_record, measurement_record
from medstation.core.reslice import VIEWS
from medstation.core.view_state import ViewState
from medstation.core.volume import Volume
from medstation.core.window_level import CT_PRESETS
from medstation.errors import MedStationError
from medstation.io.measurement_store import MeasurementStore
from medstation.ui.panels.layers_panel import LayersPanel
from medstation.ui.panels.measurements_panel import MeasurementsPanel
from medstation.ui.viewer.slice_view import TOOLS, ZOOM_STEP, KeyImageFlags, SliceView
from medstation.ui.viewer.view_box import MOUSE_BINDINGS
from medstation.ui.viewer.warning_banner import WarningBanner

LAYOUTS = {"single": "Single view", "1x3": "Axial / coronal / sagittal (1x3)", "2x2": "Three planes + MIP (2x2)"}
_LAYOUT_BUTTONS = {"single": "Single", "1x3": "1x3", "2x2": "2x2 MIP"}
_LAYOUT_KEYS = {"single": "Ctrl+1", "1x3": "Ctrl+2", "2x2": "Ctrl+3"}
_TOOL_KEYS = {"crosshair": "X", "ruler": "D", "rectangle": "R", "ellipse": "E"}
log = logging.getLogger(__name__)
PAGE_STEP = 10
PRESET_KEYS = 6


class ViewerWidget(QWidget):
    """Linked slice views of one volume with their toolbar; empty until :meth:`set_volume`.

    ``layers_panel`` and ``measurements_panel`` are made without a parent, for the caller to dock;
    they are deleted with the viewer.

    Signals
    -------
    readout_changed(str)
        The cursor readout of whichever view the mouse is over (for a status bar).
    measurement_not_saved(str)
        A measurement could not be saved for the next opening (the message says why).
    measurements_saved(str)
        The measurements of the series with this UID were saved.
    state_changed()
        A volume was shown or closed: :attr:`state` is another one (or None).
    """

    readout_changed = Signal(str)
    measurement_not_saved = Signal(str)
    measurements_saved = Signal(str)
    state_changed = Signal()

    def __init__(self, parent: QWidget | None = None, measurement_store: MeasurementStore | None = None) -> None:
        super().__init__(parent)
        self.state: ViewState | None = None
        self.measurement_store = measurement_store
        """Where the measurements of DICOM series are kept between openings (none: they last as long as the view)."""
        self.views: dict[str, SliceView] = {}
        self.layout_name = "1x3"
        self.key_images: KeyImageFlags | None = None
        self.layers_panel = LayersPanel()
        self.measurements_panel = MeasurementsPanel()
        for panel in (self.layers_panel, self.measurements_panel):
            self.destroyed.connect(panel.deleteLater)
        self.cine_timer = QTimer(self)
        self.cine_timer.timeout.connect(self._cine_step)

        self.toolbar = QToolBar("Viewer")
        self._actions: list[QAction] = []
        self._build_actions()
        self.cine_fps = QSpinBox()
        self.cine_fps.setRange(1, 60)
        self.cine_fps.setValue(10)
        self.cine_fps.setSuffix(" fps")
        self.cine_fps.valueChanged.connect(self._cine_rate_changed)
        self.mip_thickness = QDoubleSpinBox()
        self.mip_thickness.setRange(0.0, 500.0)
        self.mip_thickness.setSuffix(" mm")
        self.mip_thickness.setToolTip("Slab thickness of the maximum-intensity projection (2x2 layout)")
        self.mip_thickness.valueChanged.connect(lambda value: self.state and self.state.set_mip_thickness(value))
        self.time_slider = QSlider(Qt.Orientation.Horizontal)
        self.time_slider.valueChanged.connect(lambda value: self.state and self.state.set_time(value))
        self.time_label = QLabel("Time")
        self.toolbar.addSeparator()
        self.toolbar.addWidget(QLabel(" "))
        self.toolbar.addWidget(self.cine_fps)
        self.toolbar.addWidget(QLabel(" MIP slab "))
        self.toolbar.addWidget(self.mip_thickness)
        time_row = QHBoxLayout()
        time_row.addWidget(self.time_label)
        time_row.addWidget(self.time_slider)

        self.banner = WarningBanner()
        self.view_area = QWidget()
        self.view_area.setStyleSheet("background: black;")
        self.grid = QGridLayout(self.view_area)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(2)
        self.empty_label = QLabel("No volume open.")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.grid.addWidget(self.empty_label, 0, 0)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.toolbar)
        layout.addWidget(self.banner)
        layout.addWidget(self.view_area, 1)
        layout.addLayout(time_row)
        self._set_time_controls(1)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    # public API --------------------------------------------------------------------------------------
    def set_volume(self, volume: Volume, layout: str | None = None) -> ViewState:
        """Show ``volume`` (its middle slices, header window) and return the new shared state; ``layout`` (a
        hanging protocol's) replaces the layout chosen last, except that a single image is always shown alone."""
        self.close_volume()
        self.banner.show_warnings([])
        self.state = state = ViewState(volume)
        self.empty_label.hide()
        self.views = {view: SliceView(state, view, key_images=self.key_images) for view in VIEWS}
        self.views["mip"] = SliceView(state, "axial", mip=True, key_images=self.key_images)
        for view in self.views.values():
            view.tool = self.current_tool()
        for view in self.views.values():
            view.readout_changed.connect(self.readout_changed)
        self.mip_thickness.setValue(state.mip_thickness_mm)
        self._name_presets(state.presets)
        self.layers_panel.set_state(state)
        self.measurements_panel.set_state(state)
        self._set_time_controls(volume.n_volumes)
        self.set_layout("single" if min(volume.spatial_shape) == 1 else layout or self.layout_name)
        state.active_view_changed.connect(self._active_view_changed)
        self._keep_measurements(state)
        self.state_changed.emit()
        return state

    def _keep_measurements(self, state: ViewState) -> None:
        """Show the series' saved measurements and save every change (DICOM series only: they have a UID)."""
        store, info = self.measurement_store, state.volume.info
        if store is None or not info.series_uid:
            return
        try:
            saved = [measurement_from_record(record) for record in store.load(info.series_uid)]
        except (MedStationError, KeyError, TypeError, ValueError) as error:
            log.warning("saved measurements of series %s not shown: %s", info.series_uid, error)
            saved = []
        state.measurements.restore(saved)

        def save(_measurement=None) -> None:
            try:
                store.save(info.series_uid, info.study_uid, [measurement_record(m) for m in state.measurements.items])
                self.measurements_saved.emit(info.series_uid)
            except OSError as error:
                log.warning("measurements of series %s not saved: %s", info.series_uid, error)
                self.measurement_not_saved.emit(f"Measurements not saved: {error}")

        state.measurements.added.connect(save)
        state.measurements.removed.connect(save)

    def _name_presets(self, presets) -> None:
        """Keys 1-6 show the presets of the open image's modality (Hounsfield for CT, percentiles otherwise)."""
        for number, action in enumerate(self.preset_actions, start=1):
            preset = presets[number - 1] if number <= len(presets) else None
            action.setVisible(preset is not None)
            action.setEnabled(preset is not None)
            if preset is not None:
                action.setText(f"Window: {preset.name} {preset.width:.4g}/{preset.center:.4g}")

    def close_volume(self) -> None:
        """Remove the views and forget the volume."""
        self.cine_timer.stop()
        for view in self.views.values():
            view.detach()
            self.grid.removeWidget(view)
            view.hide()
            view.deleteLater()
        self.views = {}
        self.layers_panel.set_state(None)
        self.measurements_panel.set_state(None)
        closed, self.state = self.state, None
        self.empty_label.show()
        if closed is not None:
            self.state_changed.emit()

    def set_key_images(self, key_images: KeyImageFlags | None) -> None:
        """Mark the images ``key_images`` says are flagged (a KEY badge while a view shows one); from the next
        :meth:`set_volume` on, so call it before the first."""
        self.key_images = key_images

    def add_overlay(self, layer: OverlayLayer) -> None:
        """Draw ``layer`` (aligned ``[k, j, i]`` with the volume) over every view."""
        self.state.add_layer(layer)

    def actions(self) -> list[QAction]:
        """Every viewer command with its shortcut (active while the viewer has focus)."""
        return list(self._actions)

    @staticmethod
    def mouse_bindings() -> list[tuple[str, str]]:
        """(command, mouse gesture) rows for the shortcut help, next to :meth:`actions`."""
        return list(MOUSE_BINDINGS)

    def set_layout(self, name: str) -> None:
        """``"single"`` (the active view), ``"1x3"`` (axial, coronal, sagittal) or ``"2x2"`` (plus a MIP)."""
        if name not in LAYOUTS:
            raise ValueError(f"unknown layout {name!r}; expected one of {', '.join(LAYOUTS)}")
        self.layout_name = name
        self.layout_actions[name].setChecked(True)
        if self.state is None:
            return
        for view in self.views.values():
            self.grid.removeWidget(view)
            view.hide()
        if name == "single":
            placed = [(self.views[self.state.active_view], 0, 0)]
        elif name == "1x3":
            placed = [(self.views[view], 0, column) for column, view in enumerate(VIEWS)]
        else:
            placed = [(self.views["axial"], 0, 0), (self.views["coronal"], 0, 1), (self.views["sagittal"], 1, 0),
                      (self.views["mip"], 1, 1)]
        for view, row, column in placed:
            self.grid.addWidget(view, row, column)
            view.show()
            view.refresh(force=True)
        active = self.views[self.state.active_view]
        (active if not active.isHidden() else placed[0][0]).setFocus(Qt.FocusReason.OtherFocusReason)

    def visible_views(self) -> list[SliceView]:
        return [view for view in self.views.values() if not view.isHidden()]

    def current_tool(self) -> str:
        """The left-drag tool chosen in the toolbar."""
        return next(tool for tool, action in self.tool_actions.items() if action.isChecked())

    def set_tool(self, tool: str) -> None:
        """Left-drag tool of every view: ``"crosshair"``, ``"ruler"``, ``"rectangle"`` or ``"ellipse"``."""
        self.tool_actions[tool].setChecked(True)
        for view in self.views.values():
            view.tool = tool

    def save_screenshot(self, path: str | os.PathLike, annotations: bool = True) -> Path:
        """Save the visible views as a PNG, with or without the orientation letters and corner texts."""
        path = Path(path)
        views = self.visible_views()
        for view in views:
            view.set_annotations_visible(annotations)
        try:
            if not self.view_area.grab().save(str(path), "PNG"):
                raise OSError(f"{path}: could not write the screenshot")
        finally:
            for view in views:
                view.set_annotations_visible(True)
        return path

    # actions -----------------------------------------------------------------------------------------
    def _action(self, text: str, slot, shortcuts: list[str] | str | None = None, checkable: bool = False) -> QAction:
        action = QAction(text, self)
        if shortcuts:
            action.setShortcuts([QKeySequence(key) for key in ([shortcuts] if isinstance(shortcuts, str)
                                                              else shortcuts)])
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.setCheckable(checkable)
        action.triggered.connect(slot)
        self.addAction(action)
        self._actions.append(action)
        return action

    def _build_actions(self) -> None:
        group = QActionGroup(self)
        self.layout_actions = {}
        for name, text in LAYOUTS.items():
            action = self._action(text, lambda _=False, name=name: self.set_layout(name), _LAYOUT_KEYS[name], True)
            action.setIconText(_LAYOUT_BUTTONS[name])
            group.addAction(action)
            self.toolbar.addAction(action)
            self.layout_actions[name] = action
        self.toolbar.addSeparator()
        tools = QActionGroup(self)
        self.tool_actions = {}
        for tool in TOOLS:
            action = self._action(f"{tool.capitalize()} tool", lambda _=False, tool=tool: self.set_tool(tool),
                                  _TOOL_KEYS[tool], True)
            action.setIconText(tool.capitalize())
            tools.addAction(action)
            self.toolbar.addAction(action)
            self.tool_actions[tool] = action
        self.tool_actions["crosshair"].setChecked(True)
        self.toolbar.addSeparator()
        self._action("Next slice", lambda: self._step(1), ["Up", "Right"])
        self._action("Previous slice", lambda: self._step(-1), ["Down", "Left"])
        self._action(f"{PAGE_STEP} slices forward", lambda: self._step(PAGE_STEP), "PgUp")
        self._action(f"{PAGE_STEP} slices back", lambda: self._step(-PAGE_STEP), "PgDown")
        self._action("Zoom in", lambda: self._zoom(ZOOM_STEP), ["+", "="])
        self._action("Zoom out", lambda: self._zoom(1 / ZOOM_STEP), "-")
        reset = self._action("Reset zoom and pan", self._reset_view, "Home")
        reset.setIconText("Reset")
        self.toolbar.addAction(reset)
        presets = QMenu("Window presets", self)
        self.preset_actions = [
            self._action(f"Window preset {number}", lambda _=False, n=number: self.state and self.state.apply_preset(n),
                         str(number))
            for number in range(1, PRESET_KEYS + 1)
        ]
        for action in self.preset_actions:
            presets.addAction(action)
        self._name_presets(CT_PRESETS)
        presets.addAction(self._action("Window: from the image header",
                                       lambda: self.state and self.state.apply_default_window(), "0"))
        presets_button = QToolButton()
        presets_button.setText("W/L")
        presets_button.setMenu(presets)
        presets_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.toolbar.addWidget(presets_button)
        self.toolbar.addAction(self._action("Auto window", lambda: self.state and self.state.apply_auto_window(),
                                            "A"))
        self.toolbar.addAction(self._action("Invert", lambda: self.state and self.state.toggle_invert(), "I"))
        self.cine_action = self._action("Cine", self._toggle_cine, "Space", True)
        self.toolbar.addAction(self.cine_action)
        screenshot = self._action("Save screenshot…", lambda: self._ask_screenshot(), "Ctrl+Shift+S")
        screenshot.setIconText("Screenshot")
        self.toolbar.addAction(screenshot)
        self._action("Save screenshot without annotations…", lambda: self._ask_screenshot(annotations=False),
                     "Ctrl+Alt+S")

    # commands ----------------------------------------------------------------------------------------
    def _active(self) -> SliceView | None:
        return None if self.state is None else self.views[self.state.active_view]

    def _step(self, steps: int) -> None:
        view = self._active()
        if view is not None:
            view.step(steps)

    def _zoom(self, factor: float) -> None:
        if self.state is not None:
            self.state.zoom(self.state.active_view, factor)

    def _reset_view(self) -> None:
        if self.state is not None:
            self.state.reset_cameras()

    def _toggle_cine(self, running: bool) -> None:
        if running and self.state is not None:
            self.cine_timer.start(round(1000 / self.cine_fps.value()))
        else:
            self.cine_timer.stop()
            self.cine_action.setChecked(False)

    def _cine_rate_changed(self, fps: int) -> None:
        if self.cine_timer.isActive():
            self.cine_timer.start(round(1000 / fps))

    def _cine_step(self) -> None:
        """Advance the active view one slice, wrapping from the last slice to the first."""
        state = self.state
        view = state.active_view
        index = state.slice_index(view)
        state.set_slice(view, index + 1 if index + 1 < state.planes[view].n_slices else 0)

    def _active_view_changed(self, view: str) -> None:
        if self.layout_name == "single":
            self.set_layout("single")

    def _set_time_controls(self, n_volumes: int) -> None:
        self.time_slider.setRange(0, max(n_volumes - 1, 0))
        self.time_slider.setValue(0)
        self.time_slider.setVisible(n_volumes > 1)
        self.time_label.setVisible(n_volumes > 1)

    def _ask_screenshot(self, annotations: bool = True) -> None:
        if self.state is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save screenshot", "screenshot.png", "PNG (*.png)")
        if path:
            self.save_screenshot(path, annotations=annotations)
