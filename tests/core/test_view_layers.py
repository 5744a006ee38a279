"""Overlay colouring: heat maps with threshold and opacity, label maps with one colour per label."""

from __future__ import annotations

import numpy as np

from medstation.core.layers import LABEL_COLORS, OverlayLayer, colormap_table, heat_rgba, label_rgba


def test_heat_map_threshold_opacity_and_colours():
    image = np.array([[0.0, 0.1, 0.5, 1.0, np.nan]], dtype=np.float32)
    rgba = heat_rgba(image, 0.0, 1.0, threshold=0.3, opacity=0.5, colormap="hot")
    assert rgba.shape == (1, 5, 4) and rgba.dtype == np.uint8
    assert rgba[0, :, 3].tolist() == [0, 0, 128, 128, 0]
    table = colormap_table("hot")
    assert rgba[0, 3, :3].tolist() == table[255].tolist() == [255, 255, 255]
    assert rgba[0, 2, :3].tolist() == table[127].tolist()


def test_heat_layer_defaults_to_its_data_range():
    layer = OverlayLayer("cam", np.array([[[2.0, 4.0], [6.0, 8.0]]], dtype=np.float32))
    assert (layer.low, layer.high, layer.threshold) == (2.0, 8.0, 2.0)
    assert layer.rgba(layer.data[0])[..., 3].min() > 0


def test_label_map_colours_each_label_and_clears_background():
    labels = np.array([[0, 1, 2, 13]], dtype=np.uint8)
    rgba = label_rgba(labels, opacity=1.0)
    assert rgba[0, 0].tolist() == [0, 0, 0, 0]
    assert rgba[0, 1, :3].tolist() == LABEL_COLORS[0].tolist()
    assert rgba[0, 2, :3].tolist() == LABEL_COLORS[1].tolist()
    assert rgba[0, 3, :3].tolist() == LABEL_COLORS[0].tolist()
    assert OverlayLayer("seg", labels[None], kind="label", opacity=0.4).rgba(labels)[0, 1, 3] == 102
