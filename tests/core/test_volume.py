"""Volume geometry: spacing, origin, direction, orientation codes and voxel <-> LPS transforms."""

from __future__ import annotations

import numpy as np
import pytest

from medstation.core.volume import Volume, VolumeInfo, WindowPreset, orientation_code


def _affine(columns, origin) -> np.ndarray:
    affine = np.eye(4)
    affine[:3, :3] = np.asarray(columns, dtype=float).T
    affine[:3, 3] = origin
    return affine


AXIAL = _affine([[0.5, 0, 0], [0, 0.5, 0], [0, 0, 2.0]], [-120.0, -100.0, 30.0])


def test_spacing_origin_direction_come_from_the_affine():
    volume = Volume(array=np.zeros((4, 3, 2), np.int16), affine=AXIAL)
    assert volume.spacing == (0.5, 0.5, 2.0)
    np.testing.assert_array_equal(volume.origin, [-120.0, -100.0, 30.0])
    np.testing.assert_array_equal(volume.direction, np.eye(3))
    assert volume.spatial_shape == (4, 3, 2)
    assert volume.n_volumes == 1
    assert volume.orientation == "LPS"
    assert not volume.is_sheared


def test_voxel_to_patient_uses_i_j_k_order_and_inverts():
    volume = Volume(array=np.zeros((4, 3, 2), np.int16), affine=AXIAL)
    ijk = np.array([[1, 2, 3], [0, 0, 0]])
    lps = volume.voxel_to_patient(ijk)
    np.testing.assert_allclose(lps, [[-119.5, -99.0, 36.0], [-120.0, -100.0, 30.0]])
    np.testing.assert_allclose(volume.patient_to_voxel(lps), ijk)


def test_four_d_volume_reports_time_points_and_spatial_shape():
    volume = Volume(array=np.zeros((5, 4, 3, 2), np.float32), affine=AXIAL)
    assert volume.n_volumes == 5
    assert volume.spatial_shape == (4, 3, 2)


def test_rgb_volume_keeps_samples_in_the_last_axis():
    volume = Volume(array=np.zeros((4, 3, 2, 3), np.uint8), affine=AXIAL, is_rgb=True)
    assert volume.spatial_shape == (4, 3, 2)
    assert volume.n_volumes == 1


@pytest.mark.parametrize(
    ("columns", "code"),
    [
        ([[1, 0, 0], [0, 1, 0], [0, 0, 1]], "LPS"),
        ([[-1, 0, 0], [0, -1, 0], [0, 0, 1]], "RAS"),
        ([[0, 1, 0], [0, 0, -1], [1, 0, 0]], "PIL"),  # sagittal slices, as Siemens writes them
        ([[1, 0, 0], [0, 0, -1], [0, -1, 0]], "LIA"),  # coronal
        ([[0.7, 0.7, 0], [-0.7, 0.7, 0], [0, 0, 1]], "LPS"),  # 45 degrees: still three distinct letters
    ],
)
def test_orientation_code_names_where_each_axis_points(columns, code):
    assert orientation_code(_affine(columns, [0, 0, 0])) == code


def test_gantry_tilt_shear_is_measured():
    tilt = np.radians(18.5)
    sheared = _affine([[0.5, 0, 0], [0, 0.5 * np.cos(tilt), -0.5 * np.sin(tilt)], [0, 0, 2.5]], [0, 0, 0])
    volume = Volume(array=np.zeros((2, 2, 2), np.int16), affine=sheared)
    assert volume.is_sheared
    assert volume.shear_angle_degrees == pytest.approx(18.5)
    np.testing.assert_allclose(volume.voxel_to_patient([0, 0, 1]), [0, 0, 2.5])


def test_monochrome1_inverts_the_display_only():
    info = VolumeInfo(photometric="MONOCHROME1", window_presets=[WindowPreset(40, 400, "brain")])
    array = np.arange(8, dtype=np.int16).reshape(2, 2, 2)
    volume = Volume(array=array.copy(), affine=AXIAL, info=info)
    assert volume.info.invert_display
    np.testing.assert_array_equal(volume.array, array)
    assert not VolumeInfo(photometric="MONOCHROME2").invert_display


def test_with_array_keeps_metadata_and_drops_stale_positions_when_geometry_changes():
    positions = np.zeros((2, 3))
    volume = Volume(array=np.zeros((2, 2, 2)), affine=AXIAL, info=VolumeInfo(modality="CT"),
                    warnings=["w"], slice_positions=positions)
    same_grid = volume.with_array(np.ones((2, 2, 2)))
    assert same_grid.info.modality == "CT" and same_grid.warnings == ["w"]
    assert same_grid.slice_positions is positions
    assert volume.with_array(np.ones((2, 2, 2)), affine=np.eye(4)).slice_positions is None


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="4x4"):
        Volume(array=np.zeros((2, 2, 2)), affine=np.eye(3))
    with pytest.raises(ValueError, match="k, j, i"):
        Volume(array=np.zeros((2, 2)), affine=np.eye(4))
