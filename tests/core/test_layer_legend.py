"""The colour legend of a heat-map overlay: the topmost visible heat layer's name, colours, range and threshold."""

from __future__ import annotations

import numpy as np
import pytest

from medstation.core.layers import OverlayLayer, colormap_table, colour_legend, saliency_overlay


def test_a_saliency_overlay_has_a_legend_from_0_to_1_clear_below_its_threshold():
    layer = saliency_overlay(np.zeros((1, 4, 4), np.float32), "Grad-CAM: pneumonia")
    legend = colour_legend([layer])
    assert legend.title == "Grad-CAM: pneumonia" and legend.meaning == "fraction of the map's peak"
    assert (legend.low, legend.high, legend.clear_fraction) == (0.0, 1.0, pytest.approx(0.3))
    assert legend.ticks() == [(0.0, "0"), (pytest.approx(0.3), "0.3 (clear below)"), (1.0, "1")]
    np.testing.assert_array_equal(legend.colours, colormap_table("hot"))


def test_the_legend_follows_the_topmost_visible_heat_layer():
    labels = OverlayLayer("segments", np.ones((1, 2, 2), np.uint8), kind="label")
    heat = OverlayLayer("map", np.linspace(2.0, 8.0, 4, dtype=np.float32).reshape(1, 2, 2), colormap="viridis")
    other = OverlayLayer("other", np.array([[[0.0, 1.0], [0.0, 1.0]]], np.float32), visible=False)
    assert colour_legend([]) is None and colour_legend([labels]) is None
    assert colour_legend([heat, labels, other]).title == "map"
    legend = colour_legend([heat])
    assert legend.ticks() == [(0.0, "2"), (1.0, "8")], "a threshold at the low end clears nothing"
    np.testing.assert_array_equal(legend.colours, colormap_table("viridis"))
    other.visible = True
    assert colour_legend([heat, labels, other]).title == "other"
    heat.threshold = 9.0
    assert colour_legend([heat]).clear_fraction == 1.0
