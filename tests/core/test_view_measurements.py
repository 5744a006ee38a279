"""Rulers in mm on anisotropic voxels, region statistics against numpy on real CT, and export."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from medstation.core.measurements import MeasurementList, Region, Ruler, region_mask, region_statistics
from medstation.core.reslice import display_plane, extract_slice
from medstation.core.volume import Volume

PHILIPS_CT = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "dicom" / "dcm_qa_ct" / "In" / \
    "Philips_head_1mm"


@pytest.fixture(scope="module")
def philips_ct() -> Volume:
    if not PHILIPS_CT.exists():
        pytest.skip(f"real data {PHILIPS_CT} is not here (the shared data folder sits beside the repository)")
    from medstation.io.dicom.series import load_dicom

    return load_dicom(PHILIPS_CT)


def test_ruler_length_respects_anisotropic_spacing():
    volume = Volume(np.zeros((10, 10, 10), np.int16), np.diag([0.5, 2.0, 3.0, 1.0]))
    start, end = volume.voxel_to_patient(np.array([[0, 0, 0], [4, 3, 2]], dtype=float))
    ruler = Ruler("axial", 0, start, end)
    assert ruler.length_mm == pytest.approx(np.sqrt(2.0**2 + 6.0**2 + 6.0**2))


def test_region_statistics_match_numpy_on_real_ct(philips_ct):
    plane = display_plane(philips_ct.affine, philips_ct.spatial_shape, "axial")
    index = 70
    image = extract_slice(philips_ct.array, plane, index)
    matrix = plane.pixel_to_screen(index)
    spacing = matrix[0, 0]
    rows, columns = slice(200, 260), slice(180, 300)
    bounds = (matrix[0, 2] + (columns.start - 0.5) * spacing, matrix[1, 2] + (rows.start - 0.5) * spacing,
              matrix[0, 2] + (columns.stop - 0.5) * spacing, matrix[1, 2] + (rows.stop - 0.5) * spacing)
    stats = region_statistics(image, matrix, "rectangle", bounds)
    expected = philips_ct.array[index, rows, columns].astype(np.float64)
    assert stats.n_pixels == expected.size
    assert stats.mean == pytest.approx(expected.mean())
    assert stats.sd == pytest.approx(expected.std())
    assert (stats.minimum, stats.maximum) == (expected.min(), expected.max())
    assert stats.area_mm2 == pytest.approx(60 * 120 * spacing**2)


def test_ellipse_statistics_match_an_independent_mask(philips_ct):
    plane = display_plane(philips_ct.affine, philips_ct.spatial_shape, "coronal")
    index = 256
    image = extract_slice(philips_ct.array, plane, index)
    matrix = plane.pixel_to_screen(index)
    bounds = (60.0, 30.0, 140.0, 90.0)
    stats = region_statistics(image, matrix, "ellipse", bounds)
    rows, columns = np.mgrid[0 : image.shape[0], 0 : image.shape[1]]
    x = matrix[0, 0] * columns + matrix[0, 2]
    y = matrix[1, 1] * rows + matrix[1, 2]
    inside = ((x - 100.0) / 40.0) ** 2 + ((y - 60.0) / 30.0) ** 2 <= 1.0
    assert stats.n_pixels == inside.sum() > 1000
    assert stats.mean == pytest.approx(image[inside].mean())
    assert stats.area_mm2 == pytest.approx(np.pi * 40 * 30)
    assert stats.n_pixels * matrix[0, 0] * matrix[1, 1] == pytest.approx(stats.area_mm2, rel=0.02)


def test_region_outside_the_image_has_no_pixels():
    stats = region_statistics(np.ones((4, 4)), np.array([[1.0, 0, 0], [0, 1.0, 0]]), "rectangle", (10, 10, 12, 12))
    assert stats.n_pixels == 0 and np.isnan(stats.mean)
    with pytest.raises(ValueError, match="unknown region shape"):
        region_mask(4, 4, np.array([[1.0, 0, 0], [0, 1.0, 0]]), "star", (0, 0, 1, 1))


def test_list_events_and_export(tmp_path):
    measurements = MeasurementList()
    seen = []
    measurements.added.connect(lambda m: seen.append(("added", m.id)))
    measurements.removed.connect(lambda m: seen.append(("removed", m.id)))
    ruler = measurements.add(Ruler("axial", 3, np.zeros(3), np.array([3.0, 4.0, 0.0])))
    image = np.arange(16, dtype=np.int16).reshape(4, 4)
    stats = region_statistics(image, np.array([[1.0, 0, 0], [0, 1.0, 0]]), "rectangle", (-0.5, -0.5, 1.5, 1.5))
    measurements.add(Region("coronal", 7, "rectangle", (-0.5, -0.5, 1.5, 1.5), stats, np.zeros((4, 3))))
    json_rows = json.loads(measurements.export(tmp_path / "m.json").read_text())["measurements"]
    assert [row["kind"] for row in json_rows] == ["ruler", "rectangle"]
    assert json_rows[0]["length_mm"] == 5.0
    assert json_rows[1]["mean"] == pytest.approx(np.mean([0, 1, 4, 5]))
    assert json_rows[1]["area_mm2"] == 4.0
    with (measurements.export(tmp_path / "m.csv")).open() as handle:
        csv_rows = list(csv.DictReader(handle))
    assert csv_rows[0]["length_mm"] == "5.0" and csv_rows[1]["n_pixels"] == "4"
    measurements.remove(ruler)
    assert seen == [("added", 1), ("added", 2), ("removed", 1)]
    with pytest.raises(ValueError, match=r"csv or \.json"):
        measurements.export(tmp_path / "m.txt")
