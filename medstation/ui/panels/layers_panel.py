"""Layer list: overlay layers of the open volume, toggled and adjusted (opacity, threshold, colormap)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from medstation.core.layers import HEAT_COLORMAPS, OverlayLayer
from medstation.core.view_state import ViewState


class LayersPanel(QWidget):
    """Lists ``state.layers``; the checkbox shows/hides a layer, the controls edit the selected one."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state: ViewState | None = None
        self.list = QListWidget()
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.threshold = QDoubleSpinBox()
        self.threshold.setDecimals(3)
        self.threshold.setRange(-1e9, 1e9)
        self.colormap = QComboBox()
        self.colormap.addItems(list(HEAT_COLORMAPS))
        self.remove_button = QPushButton("Remove layer")
        form = QFormLayout()
        form.addRow("Opacity", self.opacity)
        form.addRow("Threshold", self.threshold)
        form.addRow("Colormap", self.colormap)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list)
        layout.addLayout(form)
        layout.addWidget(self.remove_button)
        self.list.itemChanged.connect(self._item_changed)
        self.list.currentRowChanged.connect(self._show_selected)
        self.opacity.valueChanged.connect(lambda value: self._edit(opacity=value / 100.0))
        self.threshold.valueChanged.connect(lambda value: self._edit(threshold=value))
        self.colormap.currentTextChanged.connect(lambda name: self._edit(colormap=name))
        self.remove_button.clicked.connect(self._remove_selected)
        self._updating = False
        self.set_state(None)

    def set_state(self, state: ViewState | None) -> None:
        """Show the layers of ``state`` (None: nothing open)."""
        if self.state is not None:
            self.state.layers_changed.disconnect(self._populate)
        self.state = state
        if state is not None:
            state.layers_changed.connect(self._populate)
        self._populate()

    @property
    def selected_layer(self) -> OverlayLayer | None:
        row = self.list.currentRow()
        return self.state.layers[row] if self.state is not None and 0 <= row < len(self.state.layers) else None

    def _populate(self) -> None:
        self._updating = True
        row = self.list.currentRow()
        self.list.clear()
        for layer in self.state.layers if self.state is not None else []:
            item = QListWidgetItem(f"{layer.name} ({'heat map' if layer.kind == 'heat' else 'labels'})")
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if layer.visible else Qt.CheckState.Unchecked)
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(min(max(row, 0), self.list.count() - 1))
        self._updating = False
        self._show_selected()

    def _show_selected(self, *_) -> None:
        layer = self.selected_layer
        self._updating = True
        for control in (self.opacity, self.threshold, self.colormap, self.remove_button):
            control.setEnabled(layer is not None)
        if layer is not None:
            self.opacity.setValue(round(layer.opacity * 100))
            is_heat = layer.kind == "heat"
            self.threshold.setEnabled(is_heat)
            self.colormap.setEnabled(is_heat)
            if is_heat:
                self.threshold.setValue(layer.threshold)
                self.colormap.setCurrentText(layer.colormap)
        self._updating = False

    def _edit(self, **changes) -> None:
        layer = self.selected_layer
        if not self._updating and layer is not None:
            self.state.update_layer(layer, **changes)

    def _item_changed(self, item: QListWidgetItem) -> None:
        if self._updating or self.state is None:
            return
        layer = self.state.layers[self.list.row(item)]
        self.state.update_layer(layer, visible=item.checkState() == Qt.CheckState.Checked)

    def _remove_selected(self) -> None:
        layer = self.selected_layer
        if layer is not None:
            self.state.remove_layer(layer)
