"""Overlay colouring: heat maps with threshold and opacity, label maps with one colour per label."""

from __future__ import annotations

import numpy as np

from medstation.core.layers import LABEL_COLORS, OverlayLayer, colormap_table, label_rgba


def heat_layer(values, **options) -> OverlayLayer:
    return OverlayLayer("cam", np.asarray(values, dtype=np.float32).reshape(1, 1, -1), **options)


def test_heat_map_threshold_opacity_and_colours():
    layer = heat_layer([0.0, 0.1, 0.5, 1.0, np.nan], low=0.0, high=1.0, threshold=0.3, opacity=0.5)
    rgba = layer.colour(layer.display_volume()[0])
    assert rgba.shape == (1, 5, 4) and rgba.dtype == np.uint8
    assert rgba[0, :, 3].tolist() == [0, 0, 128, 128, 0]
    table = colormap_table("hot")
    assert rgba[0, 3, :3].tolist() == table[255].tolist() == [255, 255, 255]
    assert rgba[0, 2, :3].tolist() == table[127].tolist()


def test_heat_bins_follow_the_range_and_slab_maximum_commutes():
    layer = heat_layer([2.0, 4.0, 6.0, 8.0])
    assert (layer.low, layer.high, layer.threshold) == (2.0, 8.0, 2.0)
    assert layer.display_volume().ravel().tolist() == [0, 85, 170, 255]
    assert layer.colour(layer.display_volume()[0])[..., 3].min() > 0
    layer.high = 4.0
    assert layer.display_volume().ravel().tolist() == [0, 255, 255, 255]
    data = np.random.default_rng(0).random((5, 3, 3)).astype(np.float32)
    slab = OverlayLayer("cam", data)
    assert np.array_equal(slab.display_volume().max(axis=0), OverlayLayer("max", data.max(axis=0)[None],
                                                                          low=slab.low, high=slab.high)
                          .display_volume()[0])


def test_label_map_colours_each_label_and_clears_background():
    labels = np.array([[0, 1, 2, 13]], dtype=np.uint8)
    rgba = label_rgba(labels, opacity=1.0)
    assert rgba[0, 0].tolist() == [0, 0, 0, 0]
    assert rgba[0, 1, :3].tolist() == LABEL_COLORS[0].tolist()
    assert rgba[0, 2, :3].tolist() == LABEL_COLORS[1].tolist()
    assert rgba[0, 3, :3].tolist() == LABEL_COLORS[0].tolist()
    layer = OverlayLayer("seg", labels[None], kind="label", opacity=0.4)
    assert layer.colour(layer.display_volume()[0])[0, 1, 3] == 102
