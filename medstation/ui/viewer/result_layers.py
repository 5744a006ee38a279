"""A SEG or Parametric Map opened again, placed on whichever open viewer shows its source series.

The main viewer and the Compare viewer may each show a series. The file is read against each in turn by the results
panel's own reader (:func:`medstation.ui.panels.results_panel.read_result_file`: matched by the referenced
SeriesInstanceUID, else by the frame of reference, then placed frame by frame through the source images), and the
first series it matches gets the layer. When none does, the reader's one line says which series to open.

Usage::

    job = runner.submit("Read seg.dcm", read_for_open_series, path, [main_series, compared_series])
    job.succeeded.connect(...)             # ReportText, PlacedLayer, NotPlaced or None, as read_result_file
    place_layer([main_viewer, compare_viewer], placed)   # the viewer showing placed.volume gets the layer
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from medstation.ui.panels.results_panel import NotPlaced, OpenSeries, PlacedLayer, ReportText, read_result_file
from medstation.ui.viewer.viewer_widget import ViewerWidget


def read_for_open_series(path: Path, shown: list[OpenSeries], progress=None, cancel=None
                         ) -> ReportText | PlacedLayer | NotPlaced | None:
    """Read ``path`` as :func:`read_result_file` does, against each series in ``shown`` (in order) until one is its
    source: a SEG or Parametric Map becomes a layer on that one; an SR is read once. With no series shown, or none
    the source, the result is the reader's :class:`NotPlaced` line."""
    result = None
    for series in shown or [None]:
        result = read_result_file(path, series, progress, cancel)
        if not isinstance(result, NotPlaced):
            return result
    return result


def place_layer(viewers: Iterable[ViewerWidget], placed: PlacedLayer) -> ViewerWidget | None:
    """Draw ``placed.layer`` on the first of ``viewers`` still showing ``placed.volume``, and return that viewer;
    None when another series opened in each since the file was read."""
    for viewer in viewers:
        if viewer.state is not None and viewer.state.volume is placed.volume:
            viewer.add_overlay(placed.layer)
            return viewer
    return None
