"""Viewer frame rates and memory on the 140 x 512 x 512 Philips head CT, against a bare pyqtgraph ImageItem.

A frame is a slice change plus ``widget.grab()`` offscreen (``repaint()`` draws nothing offscreen).
Goals (issue 4): axial >= 100 fps, coronal / sagittal >= 60 fps with window/level and one heat-map overlay;
window/level drag >= 60 fps; opening the 1x3 layout adds at most one copy of the volume.

Run: ``QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/viewer_scroll.py [--frames N] [DICOM_FOLDER]``
"""

from __future__ import annotations

import argparse
import gc
import os
import time
import tracemalloc
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QApplication

from medstation.core.layers import OverlayLayer
from medstation.core.window_level import Window
from medstation.io.dicom.series import load_dicom
from medstation.ui.viewer.viewer_widget import ViewerWidget

DEFAULT_SERIES = Path(__file__).resolve().parents[2] / "shared/data/dicom/dcm_qa_ct/In/Philips_head_1mm"
VIEW_SIZE = (480, 560)


def frames_per_second(step, grab, frames: int) -> float:
    for index in range(5):
        step(index)
        grab()
    start = time.perf_counter()
    for index in range(frames):
        step(index)
        grab()
    return frames / (time.perf_counter() - start)


def bare_image_item(array: np.ndarray, overlay: np.ndarray | None, frames: int) -> float:
    """Axial scroll of a plain pyqtgraph ImageItem with fixed levels (and one RGBA heat overlay)."""
    view = pg.GraphicsView()
    box = pg.ViewBox(invertY=True, lockAspect=True)
    view.setCentralItem(box)
    image = pg.ImageItem(axisOrder="row-major")
    box.addItem(image)
    heat = pg.ImageItem(axisOrder="row-major")
    box.addItem(heat)
    colors = pg.ColorMap([0.0, 0.5, 1.0], [(0, 0, 0, 0), (230, 0, 0, 128), (255, 255, 0, 128)])
    heat_lut = colors.getLookupTable(nPts=256, alpha=True)
    view.resize(*VIEW_SIZE)
    n = array.shape[0]

    def step(index: int) -> None:
        image.setImage(array[index % n], autoLevels=False, levels=(0, 80))
        if overlay is not None:
            heat.setImage(overlay[index % n], autoLevels=False, levels=(0.2, 1.0), lut=heat_lut)

    box.setRange(pg.QtCore.QRectF(0, 0, array.shape[2], array.shape[1]), padding=0)
    fps = frames_per_second(step, view.grab, frames)
    view.close()
    view.deleteLater()
    return fps


def blob(shape: tuple[int, int, int]) -> np.ndarray:
    """A smooth heat map (0..1) the size of the volume, standing in for a saliency map."""
    k, j, i = (np.linspace(-1, 1, n, dtype=np.float32) for n in shape)
    return np.exp(-(k[:, None, None] ** 2 + j[None, :, None] ** 2 + i[None, None, :] ** 2) * 4).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("series", nargs="?", default=str(DEFAULT_SERIES))
    parser.add_argument("--frames", type=int, default=300)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    volume = load_dicom(args.series)
    print(f"volume {volume.array.shape} {volume.array.dtype}, {volume.array.nbytes / 2**20:.0f} MiB")

    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    viewer = ViewerWidget()
    viewer.resize(3 * VIEW_SIZE[0], VIEW_SIZE[1] + 40)
    viewer.set_volume(volume)
    viewer.set_layout("1x3")
    viewer.show()
    app.processEvents()
    viewer.view_area.grab()
    added = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    print(f"memory: opening 1x3 added {added / 2**20:.1f} MiB = {added / volume.array.nbytes:.2f} x the volume")

    heat = blob(volume.spatial_shape)
    bare = bare_image_item(volume.array, None, args.frames)
    bare_overlay = bare_image_item(volume.array, heat, args.frames)
    print(f"bare ImageItem axial: {bare:.0f} fps; with one heat overlay: {bare_overlay:.0f} fps")

    state = viewer.state
    state.set_window(Window(80, 40))
    for overlay in (False, True):
        if overlay:
            viewer.add_overlay(OverlayLayer("heat", heat, threshold=0.2))
        for name in ("axial", "coronal", "sagittal"):
            view = viewer.views[name]
            n = state.planes[name].n_slices

            def step(index: int, name=name, n=n) -> None:
                state.set_slice(name, (index * 3) % n)

            fps = frames_per_second(step, view.grab, args.frames)
            whole = frames_per_second(step, viewer.view_area.grab, args.frames // 3)
            goal = 100 if name == "axial" else 60
            reference = bare_overlay if overlay else bare
            print(f"{name:8s} overlay={overlay!s:5s}: {fps:6.0f} fps (goal {goal}; {fps / reference:.2f} x bare axial "
                  f"{'with' if overlay else 'without'} overlay), whole 1x3 grab {whole:.0f} fps")

    def drag(index: int) -> None:
        state.set_window(Window(80 + 4 * (index % 50), 40 + (index % 30)))

    wl = frames_per_second(drag, viewer.view_area.grab, args.frames // 3)
    print(f"window/level drag (3 views with overlay, whole 1x3 grab): {wl:.0f} fps (goal 60)")
    viewer.close_volume()
    viewer.close()
    viewer.deleteLater()
    app.processEvents()
    del viewer
    gc.collect()
    app.processEvents()


if __name__ == "__main__":
    main()
