"""Window/level maths: presets, grey mapping (table and arithmetic agree), inversion, auto and drag."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from medstation.core.volume import Volume, VolumeInfo, WindowPreset
from medstation.core.window_level import (
    CT_PRESETS,
    Window,
    apply_window,
    auto_window,
    default_window,
    dragged_window,
    grey_lookup_table,
    modality_presets,
)

SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def test_ct_presets_are_the_reading_room_ones():
    assert [(p.name, p.width, p.center) for p in CT_PRESETS] == [
        ("Brain", 80, 40), ("Subdural", 200, 75), ("Lung", 1500, -600), ("Bone", 2500, 480),
        ("Soft tissue", 400, 40), ("Liver", 150, 90)]


def test_grey_mapping_ends_and_middle():
    values = np.array([[-1000, 0, 40, 80, 3000]], dtype=np.int16)
    grey = apply_window(values, Window(80, 40))
    assert grey.tolist() == [[0, 0, 127, 255, 255]]
    inverted = apply_window(values, Window(80, 40, inverted=True))
    assert inverted.tolist() == [[255, 255, 127, 0, 0]]


@pytest.mark.parametrize("dtype", [np.int16, np.uint16, np.uint8, np.int8])
def test_lookup_table_matches_arithmetic(dtype):
    info = np.iinfo(dtype)
    values = np.linspace(info.min, info.max, 4001).astype(dtype).reshape(1, -1)
    for window in (Window(80, 40), Window(1500, -600, inverted=True), Window(2500, 480), Window(30, 100)):
        table = grey_lookup_table(window, values.dtype)
        assert np.array_equal(apply_window(values, window, table), apply_window(values, window))


def test_lookup_works_on_strided_views():
    volume = np.random.default_rng(0).integers(-1024, 3000, size=(6, 7, 8)).astype(np.int16)
    sagittal = volume[:, ::-1, 3]
    window = Window(400, 40)
    expected = apply_window(np.ascontiguousarray(sagittal), window)
    assert np.array_equal(apply_window(sagittal, window, grey_lookup_table(window, sagittal.dtype)), expected)


def test_float_images_and_nan_map_without_error():
    image = np.array([[np.nan, 0.0, 0.5, 1.0]], dtype=np.float32)
    assert apply_window(image, Window(1.0, 0.5)).tolist() == [[0, 0, 127, 255]]


def test_default_window_from_header_and_monochrome1_starts_inverted():
    info = VolumeInfo(window_presets=[WindowPreset(40, 80, "BRAIN")], photometric="MONOCHROME1")
    window = default_window(Volume(np.arange(8, dtype=np.int16).reshape(2, 2, 2) * 10, np.eye(4), info))
    assert (window.width, window.center, window.inverted, window.name) == (80, 40, True, "BRAIN")


def test_auto_window_uses_percentiles_and_ignores_background():
    values = np.concatenate([np.zeros(10_000), np.linspace(100, 200, 1001)]).astype(np.float32)
    window = auto_window(values)
    assert window.low == pytest.approx(100.5, abs=0.5)
    assert window.high == pytest.approx(199.5, abs=0.5)


def test_auto_window_on_real_mr():
    from medstation.io.nifti import read_volume

    path = SHARED_DATA / "nifti" / "MR_Gd.nii.gz"
    if not path.exists():
        pytest.skip(f"real data {path} is not here (the shared data folder sits beside the repository)")
    volume = read_volume(path)
    window = default_window(volume)
    brain = volume.array[volume.array > 0]
    assert window.low == pytest.approx(np.percentile(brain, 0.5), rel=0.05)
    assert window.high == pytest.approx(np.percentile(brain, 99.5), rel=0.05)


def test_right_drag_widens_and_down_brightens():
    start = Window(80, 40, inverted=True)
    wider = dragged_window(start, 50, 0, value_span=1000)
    assert wider.width == pytest.approx(180) and wider.center == 40 and wider.inverted
    brighter = dragged_window(start, 0, 50, value_span=1000)
    assert brighter.center == pytest.approx(-60)
    assert dragged_window(start, -10_000, 0, value_span=1000).width > 0


@pytest.mark.parametrize("dtype, top", [(np.uint8, 255), (np.uint16, 65535), (np.uint32, 4294967295)])
def test_rgb_is_shown_over_its_own_sample_depth(dtype, top):
    array = np.zeros((1, 2, 2, 3), dtype=dtype)
    array[0, 0, 0] = [top, top // 2, 0]
    window = default_window(Volume(array, np.eye(4), is_rgb=True))
    grey = apply_window(array[0], window, grey_lookup_table(window, array.dtype))
    assert grey[0, 0, 0] == 255 and grey[0, 0, 2] == 0 and abs(int(grey[0, 0, 1]) - 128) <= 1


def _volume_of(values: np.ndarray, modality: str = "MR", presets=()) -> Volume:
    return Volume(values.reshape(1, 1, -1), np.eye(4), VolumeInfo(modality=modality, window_presets=list(presets)))


def test_a_header_window_that_saturates_the_image_gives_way_to_the_percentile_window():
    values = np.linspace(0, 4000, 10_000).astype(np.int16)
    window = default_window(_volume_of(values, presets=[WindowPreset(7, 15, "phantom")]))
    assert window.name == "Auto"
    assert window.low == pytest.approx(20, abs=2) and window.high == pytest.approx(3980, abs=2)
    readable = default_window(_volume_of(values, presets=[WindowPreset(2000, 3000)]))
    assert (readable.width, readable.center) == (3000, 2000)


def test_hounsfield_presets_are_for_ct_only():
    values = np.linspace(0, 1000, 10_000).astype(np.float32)
    assert modality_presets(_volume_of(values, "CT")) == CT_PRESETS
    mr = modality_presets(_volume_of(values, "MR"))
    assert mr[0].name == "Auto" and len(mr) == 5
    assert mr[-1].low == pytest.approx(values[values > 0].min()) and mr[-1].high == pytest.approx(1000)
    assert not set(mr) & set(CT_PRESETS)
