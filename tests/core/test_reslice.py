"""Radiological display planes: labels and pixels agree with the affine, on synthetic and real volumes."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from medstation.core.reslice import (
    VIEWS,
    direction_label,
    display_plane,
    extract_slice,
    maximum_intensity_projection,
    opposite_direction,
    slab_slices,
)
from medstation.core.volume import Volume

SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
EXPECTED_LABELS = {
    "axial": {"left": "R", "right": "L", "top": "A", "bottom": "P"},
    "coronal": {"left": "R", "right": "L", "top": "S", "bottom": "I"},
    "sagittal": {"left": "A", "right": "P", "top": "S", "bottom": "I"},
}
# LPS direction (axis, sign) that must grow to the screen's right and toward the screen's bottom
SCREEN_RIGHT = {"axial": (0, 1), "coronal": (0, 1), "sagittal": (1, 1)}
SCREEN_DOWN = {"axial": (1, 1), "coronal": (2, -1), "sagittal": (2, -1)}


def shared(*parts: str) -> Path:
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data {path} is not here (the shared data folder sits beside the repository)")
    return path


def permuted_affines():
    """All 48 axis-aligned orientations (permutation x signs), with anisotropic spacing and an offset."""
    for permutation in itertools.permutations(range(3)):
        for signs in itertools.product((1, -1), repeat=3):
            affine = np.eye(4)
            affine[:3, :3] = 0
            for voxel_axis, (lps_axis, sign) in enumerate(zip(permutation, signs, strict=True)):
                affine[lps_axis, voxel_axis] = sign * (0.7, 1.3, 2.5)[voxel_axis]
            affine[:3, 3] = (-40.0, 12.0, 30.0)
            yield affine


def assert_screen_follows_patient(volume: Volume, view: str) -> None:
    """Every screen pixel of the middle slice: LPS grows to the right and down as the convention says."""
    plane = display_plane(volume.affine, volume.spatial_shape, view)
    index = plane.n_slices // 2
    rows, columns = np.mgrid[0 : plane.n_rows, 0 : plane.n_columns]
    lps = volume.voxel_to_patient(plane.voxel_of_pixel(columns, rows, index))
    (right_axis, right_sign), (down_axis, down_sign) = SCREEN_RIGHT[view], SCREEN_DOWN[view]
    if plane.n_columns > 1:
        assert np.all(right_sign * np.diff(lps[..., right_axis], axis=1) > 0), f"{view}: screen x does not run R->L"
    if plane.n_rows > 1:
        assert np.all(down_sign * np.diff(lps[..., down_axis], axis=0) > 0), f"{view}: screen y runs the wrong way"


def assert_marker_drawn_on_patient_side(volume: Volume, view: str) -> None:
    """A marker on the patient's left (or anterior / superior) is drawn on the screen's right (left / top)."""
    array = volume.array if volume.n_volumes == 1 else volume.array[0]
    plane = display_plane(volume.affine, volume.spatial_shape, view)
    index = plane.n_slices // 2
    rows, columns = np.mgrid[0 : plane.n_rows, 0 : plane.n_columns]
    ijk = plane.voxel_of_pixel(columns, rows, index)
    lps = volume.voxel_to_patient(ijk)
    right_axis, right_sign = SCREEN_RIGHT[view]
    target = np.unravel_index(np.argmax(right_sign * lps[..., right_axis]), lps.shape[:2])
    i, j, k = (round(v) for v in ijk[target])
    marked = array.astype(np.float32)
    marker = float(marked.max()) + 1000.0
    marked[k, j, i] = marker
    picture = extract_slice(marked, plane, index)
    row, column = np.argwhere(picture == marker)[0]
    assert column >= plane.n_columns / 2, f"{view}: the patient's {'left' if right_axis == 0 else 'posterior'} " \
                                          f"voxel is drawn on the screen's left half"
    assert (row, column) == tuple(target)


@pytest.mark.parametrize("affine", list(permuted_affines()), ids=lambda a: "".join(map(str, a[:3, :3].ravel())))
def test_every_orthogonal_orientation_is_shown_radiologically(affine):
    array = np.arange(5 * 6 * 7, dtype=np.int16).reshape(5, 6, 7)
    volume = Volume(array, affine)
    for view in VIEWS:
        plane = display_plane(affine, array.shape, view)
        assert plane.labels == EXPECTED_LABELS[view]
        assert_screen_follows_patient(volume, view)
        picture = extract_slice(array, plane, 1)
        assert np.shares_memory(picture, array), "a display slice must be a view of the volume, not a copy"
        for (row, column) in ((0, 0), (plane.n_rows - 1, 2)):
            ijk = plane.voxel_of_pixel(column, row, 1).round().astype(int)
            assert picture[row, column] == array[ijk[2], ijk[1], ijk[0]]


def test_pixel_aspect_comes_from_spacing():
    affine = np.diag([0.5, 0.5, 3.0, 1.0])
    plane = display_plane(affine, (40, 100, 100), "coronal")
    matrix = plane.pixel_to_screen(0)
    assert matrix[0, 0] == pytest.approx(0.5)
    assert matrix[1, 1] == pytest.approx(3.0)
    assert plane.slice_spacing == pytest.approx(0.5)


def test_direction_labels_are_composite_when_oblique():
    assert direction_label(np.array([1.0, 0.0, 0.0])) == "L"
    assert direction_label(np.array([-1.0, -0.5, 0.0])) == "RA"
    assert direction_label(np.array([0.1, 0.0, -1.0])) == "I"
    assert direction_label(np.array([0.0, 0.6, 0.8])) == "SP"


def test_sheared_stack_is_drawn_with_true_geometry():
    tilt = np.radians(20)
    affine = np.eye(4)
    affine[:3, 2] = (0.0, -np.sin(tilt) * 2.0, np.cos(tilt) * 2.0)
    volume = Volume(np.zeros((10, 8, 8), dtype=np.int16), affine)
    assert volume.is_sheared
    rng = np.random.default_rng(0)
    for view in VIEWS:
        plane = display_plane(affine, volume.spatial_shape, view)
        ijk = rng.uniform(0, 7, size=(20, 3))
        pixels = plane.pixel_of_voxel(ijk)
        for (column, row, index), point in zip(pixels, volume.voxel_to_patient(ijk), strict=True):
            drawn = plane.pixel_to_screen(index) @ np.array([column, row, 1.0])
            assert np.allclose(drawn, plane.screen_of_patient(point)), view
            assert np.allclose(plane.pixel_of_screen(*drawn, index), (column, row))
    assert display_plane(affine, volume.spatial_shape, "axial").is_sheared
    assert display_plane(affine, volume.spatial_shape, "sagittal").is_skewed
    coronal = display_plane(affine, volume.spatial_shape, "coronal")
    assert coronal.labels["top"] == "SA"


def test_maximum_intensity_projection_of_a_slab():
    array = np.random.default_rng(1).integers(0, 1000, size=(30, 6, 5)).astype(np.int16)
    plane = display_plane(np.diag([1.0, 1.0, 2.0, 1.0]), array.shape, "axial")
    assert slab_slices(plane, 10, 8.0) == range(8, 13)
    mip = maximum_intensity_projection(array, plane, 10, 8.0)
    assert np.array_equal(mip, extract_slice(array[8:13].max(axis=0, keepdims=True), plane, 0))
    assert np.array_equal(maximum_intensity_projection(array, plane, 0, 0.0), extract_slice(array, plane, 0))


@pytest.mark.parametrize("acquisition", ["ax/axasc35", "cor/corasc35", "sag/sagasc35", "sag/sagdesc36"])
def test_siemens_mosaics_in_every_acquisition_plane(acquisition):
    from medstation.io.dicom.series import load_dicom

    volume = load_dicom(shared("dicom", "dcm_qa_orientation", "In", "Orientation", acquisition))
    for view in VIEWS:
        plane = display_plane(volume.affine, volume.spatial_shape, view)
        assert plane.labels == EXPECTED_LABELS[view], (acquisition, view)
        assert_screen_follows_patient(volume, view)
        assert_marker_drawn_on_patient_side(volume, view)


def test_oblique_ct_pitch_labels_and_pixels():
    from medstation.io.nifti import read_volume

    volume = read_volume(shared("nifti", "CT_pitch.nii.gz"))
    labels = {view: display_plane(volume.affine, volume.spatial_shape, view).labels for view in VIEWS}
    assert labels["axial"] == {"left": "R", "right": "L", "top": "AI", "bottom": "PS"}
    assert labels["coronal"] == {"left": "R", "right": "L", "top": "SA", "bottom": "IP"}
    assert labels["sagittal"] == EXPECTED_LABELS["sagittal"], "the pitch rotates the grid inside the sagittal plane"
    for view in VIEWS:
        assert_screen_follows_patient(volume, view)
        assert_marker_drawn_on_patient_side(volume, view)


@pytest.mark.parametrize("letters, opposite", [("A", "P"), ("P", "A"), ("L", "R"), ("R", "L"), ("H", "F"),
                                               ("F", "H"), ("AL", "PR"), ("FRP", "HLA"), ("", "")])
def test_opposite_direction_swaps_each_letter(letters, opposite):
    assert opposite_direction(letters) == opposite
    assert opposite_direction(opposite) == letters


NOMINAL = np.diag([0.2, 0.3, 1.0, 1.0])
"""The affine given to images without patient geometry: i along +x, j along +y, k along +z from the origin."""


def test_stored_image_labels_follow_patient_orientation_on_the_unflipped_plane():
    axial = display_plane(NOMINAL, (1, 30, 40), "axial")
    assert (axial.column_axis, axial.row_axis, axial.column_flipped, axial.row_flipped) == (0, 1, False, False)
    assert axial.stored_image_labels(("L", "F")) == {"left": "R", "right": "L", "top": "H", "bottom": "F"}
    assert axial.stored_image_labels(("AL", "FR")) == {"left": "PR", "right": "AL", "top": "HL", "bottom": "FR"}


def test_stored_image_labels_are_unknown_across_the_stack_and_reversed_when_flipped():
    coronal = display_plane(NOMINAL, (3, 30, 40), "coronal")  # columns along i, rows along k (flipped)
    assert coronal.stored_image_labels(("A", "F")) == {"left": "P", "right": "A", "top": "?", "bottom": "?"}
    sagittal = display_plane(NOMINAL, (3, 30, 40), "sagittal")  # columns along j
    assert sagittal.stored_image_labels(("A", "F")) == {"left": "H", "right": "F", "top": "?", "bottom": "?"}
    mirrored = display_plane(np.diag([-0.2, 0.3, 1.0, 1.0]), (1, 30, 40), "axial")
    assert mirrored.column_flipped
    assert mirrored.stored_image_labels(("A", "F")) == {"left": "A", "right": "P", "top": "H", "bottom": "F"}
