"""A SEG or Parametric Map read by the results panel, placed on whichever open viewer shows its source series.

The main viewer and the Compare viewer may each show a series. The results panel reads the file against each in
turn (:func:`medstation.ui.panels.results_panel.read_for_open_series`), and the viewer that still shows the series
it matched gets the layer::

    place_layer([main_viewer, compare_viewer], placed)   # the viewer showing placed.volume gets the layer
"""

from __future__ import annotations

from collections.abc import Iterable

from medstation.ui.panels.results_panel import PlacedLayer
from medstation.ui.viewer.viewer_widget import ViewerWidget


def place_layer(viewers: Iterable[ViewerWidget], placed: PlacedLayer) -> ViewerWidget | None:
    """Draw ``placed.layer`` on the first of ``viewers`` still showing ``placed.volume``, and return that viewer;
    None when another series opened in each since the file was read."""
    for viewer in viewers:
        if viewer.state is not None and viewer.state.volume is placed.volume:
            viewer.add_overlay(placed.layer)
            return viewer
    return None
