"""One slice read alone equals the same slice of the full volume, in voxels and in place."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from medstation.io.dicom.preview import load_slice
from medstation.io.dicom.series import largest_series, load_series, scan_dicom

COMMITTED = Path(__file__).resolve().parents[2] / "data" / "dicom"


def _assert_matches_full_volume(folder: Path, k: int | None = None) -> None:
    series = largest_series(scan_dicom(folder))
    preview = load_slice(series, k)
    volume = load_series(series)
    first = volume.array if volume.n_volumes == 1 else volume.array[0]
    k = volume.spatial_shape[0] // 2 if k is None else k
    assert preview.array.shape == (1, *first.shape[1:])
    np.testing.assert_array_equal(preview.array[0], first[k])
    where = volume.slice_positions[k] if volume.slice_positions is not None else volume.voxel_to_patient([0, 0, k])
    np.testing.assert_allclose(preview.origin, where, atol=1e-6)
    np.testing.assert_allclose(preview.affine[:3, :3], volume.affine[:3, :3])
    assert preview.info == volume.info


def test_middle_slice_of_an_irregular_tilted_ct():
    _assert_matches_full_volume(COMMITTED / "ge_tilt")


@pytest.mark.parametrize("k", [0, 34])
def test_slices_of_a_mosaic(k):
    _assert_matches_full_volume(COMMITTED / "siemens_mosaic", k)


def test_middle_slice_of_the_benchmark_ct(shared_path):
    _assert_matches_full_volume(shared_path("dicom", "dcm_qa_ct", "In", "Philips_head_1mm"))


def test_a_slice_outside_the_series_is_refused():
    with pytest.raises(IndexError, match="outside the series' 3 slices"):
        load_slice(largest_series(scan_dicom(COMMITTED / "ge_tilt")), 3)
