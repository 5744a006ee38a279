"""Headless rendering of one slice view to PNG: the same widget as the GUI, drawn offscreen.

Used by ``medstation render`` and ``classify --saliency``: orientation letters, corner annotations and the window are
exactly what the workstation shows, because the picture is a :class:`SliceView` grabbed without being shown on
screen. The volume comes from :func:`medstation.io.open_study.open_image`.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Sequence
from pathlib import Path

from medstation.core.layers import OverlayLayer
from medstation.core.reslice import VIEWS
from medstation.core.volume import Volume
from medstation.core.window_level import Window
from medstation.errors import UnreadableInput

DEFAULT_SIZE = (768, 768)


def render_png(
    volume: Volume,
    out_png: str | os.PathLike,
    view: str = "axial",
    slice_index: int | None = None,
    window: float | None = None,
    level: float | None = None,
    size: tuple[int, int] = DEFAULT_SIZE,
    annotations: bool = True,
    overlays: Sequence[OverlayLayer] = (),
) -> Path:
    """Draw one view of a volume as the workstation shows it and save it as PNG.

    Parameters
    ----------
    volume
        The volume to draw.
    view
        ``"axial"``, ``"coronal"`` or ``"sagittal"`` (radiological convention).
    slice_index
        0-based voxel index along the view's normal axis (shown as "Im K+1/N"); default the middle slice.
    window, level
        Window width and center in real-world units (HU for CT); default the header's window (or a
        percentile window when the header has none).
    size
        Picture size in pixels ``(width, height)``.
    overlays
        Layers ``[k, j, i]`` aligned with the volume, drawn over it (a saliency map, a label map).

    Returns
    -------
    Path
        ``out_png``.
    """
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}; expected one of {', '.join(VIEWS)}")
    app = _application()

    from PySide6.QtCore import QEvent, Qt

    from medstation.core.view_state import ViewState
    from medstation.ui.viewer.slice_view import SliceView

    state = ViewState(volume)
    for layer in overlays:
        state.add_layer(layer)
    n_slices = state.planes[view].n_slices
    if slice_index is not None:
        if not 0 <= slice_index < n_slices:
            raise UnreadableInput(f"slice {slice_index} is outside the {view} view's 0..{n_slices - 1}")
        state.set_slice(view, slice_index)
    if window is not None or level is not None:
        current = state.window
        state.set_window(Window(current.width if window is None else float(window),
                                current.center if level is None else float(level), current.inverted))
    widget = SliceView(state, view)
    widget.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
    widget.resize(*size)
    widget.set_annotations_visible(annotations)
    widget.show()
    app.processEvents()
    widget.refresh(force=True)
    out_png = Path(out_png)
    try:
        if not widget.grab().save(str(out_png), "PNG"):
            raise UnreadableInput(f"{out_png}: could not write the PNG (check the folder exists and is writable)")
    finally:
        widget.detach()
        widget.close()
        widget.deleteLater()
        del widget
        app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        gc.collect()
        app.processEvents()
    return out_png


def _application():
    """The running QApplication, or a new one on the offscreen platform (nothing is shown, no display needed)."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        app = QApplication(["medstation-render"])
    return app
