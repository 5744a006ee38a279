"""NIfTI / NRRD / MetaImage reading and writing: lossless round trips, RAS <-> LPS at the boundary only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from medstation.core.volume import Volume, VolumeInfo
from medstation.errors import GeometryError, UnreadableInput
from medstation.io.nifti import LPS_FROM_RAS, read_volume, write_volume

SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
CT_PITCH = SHARED_DATA / "nifti" / "CT_pitch.nii.gz"


def _oblique_affine(shear: float = 0.0) -> np.ndarray:
    angle = np.radians(20.0)
    affine = np.eye(4)
    affine[:3, 0] = [0.7 * np.cos(angle), 0.7 * np.sin(angle), 0.0]
    affine[:3, 1] = [-0.8 * np.sin(angle), 0.8 * np.cos(angle), 0.0]
    affine[:3, 2] = [0.0, shear, 2.5]
    affine[:3, 3] = [-101.25, 33.5, -12.0]
    return affine


def _volume(array: np.ndarray, shear: float = 0.0, is_rgb: bool = False) -> Volume:
    return Volume(array=array, affine=_oblique_affine(shear), info=VolumeInfo(series_description="round trip"),
                  is_rgb=is_rgb)


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
@pytest.mark.parametrize(
    "array",
    [
        np.arange(4 * 5 * 6, dtype=np.int16).reshape(4, 5, 6) - 1024,
        np.linspace(-3.5, 7.25, 2 * 4 * 5 * 6, dtype=np.float32).reshape(2, 4, 5, 6),
        np.arange(4 * 5 * 6, dtype=np.uint8).reshape(4, 5, 6),
    ],
    ids=["int16-3d", "float32-4d", "uint8-3d"],
)
def test_nifti_round_trip_is_lossless(tmp_path, suffix, array):
    volume = _volume(array)
    path = write_volume(volume, tmp_path / f"volume{suffix}")
    back = read_volume(path)
    assert back.array.dtype == array.dtype and back.array.dtype.isnative
    np.testing.assert_array_equal(back.array, array)
    np.testing.assert_allclose(back.affine, volume.affine, atol=1e-5)
    assert back.info.series_description == "round trip"
    assert [p.name for p in tmp_path.iterdir()] == [f"volume{suffix}"]


def test_sheared_affine_survives_nifti(tmp_path):
    volume = _volume(np.zeros((3, 4, 5), np.int16), shear=0.8)
    assert volume.is_sheared
    back = read_volume(write_volume(volume, tmp_path / "tilted.nii.gz"))
    np.testing.assert_allclose(back.affine, volume.affine, atol=1e-5)
    assert back.shear_angle_degrees == pytest.approx(volume.shear_angle_degrees, abs=1e-4)


def test_nifti_on_disk_is_ras_with_x_along_i(tmp_path):
    import nibabel

    array = np.arange(2 * 3 * 4, dtype=np.int16).reshape(2, 3, 4)
    volume = _volume(array)
    image = nibabel.load(write_volume(volume, tmp_path / "v.nii"))
    np.testing.assert_allclose(image.affine, LPS_FROM_RAS @ volume.affine, atol=1e-5)
    assert image.shape == (4, 3, 2)
    assert np.asarray(image.dataobj)[3, 2, 1] == array[1, 2, 3]
    assert int(image.header["sform_code"]) == 1


def test_rgb_round_trip(tmp_path):
    array = np.arange(2 * 3 * 4 * 3, dtype=np.uint8).reshape(2, 3, 4, 3)
    back = read_volume(write_volume(_volume(array, is_rgb=True), tmp_path / "rgb.nii.gz"))
    assert back.is_rgb
    np.testing.assert_array_equal(back.array, array)


@pytest.mark.parametrize("suffix", [".nrrd", ".mha"])
def test_simpleitk_formats_round_trip(tmp_path, suffix):
    array = np.arange(3 * 4 * 5, dtype=np.int16).reshape(3, 4, 5)
    volume = _volume(array)
    back = read_volume(write_volume(volume, tmp_path / f"v{suffix}"))
    np.testing.assert_array_equal(back.array, array)
    np.testing.assert_allclose(back.affine, volume.affine, atol=1e-5)


def test_simpleitk_formats_refuse_shear(tmp_path):
    with pytest.raises(GeometryError, match="sheared"):
        write_volume(_volume(np.zeros((2, 2, 2), np.int16), shear=0.8), tmp_path / "v.nrrd")
    assert list(tmp_path.iterdir()) == []


def test_nifti_and_nrrd_agree_on_lps_geometry(tmp_path):
    volume = _volume(np.arange(24, dtype=np.int16).reshape(2, 3, 4))
    from_nifti = read_volume(write_volume(volume, tmp_path / "v.nii"))
    from_nrrd = read_volume(write_volume(volume, tmp_path / "v.nrrd"))
    np.testing.assert_allclose(from_nifti.affine, from_nrrd.affine, atol=1e-5)
    assert from_nifti.orientation == from_nrrd.orientation == volume.orientation


def test_damaged_or_unknown_files_raise_unreadable_input(tmp_path):
    bad = tmp_path / "bad.nii.gz"
    bad.write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(UnreadableInput, match=r"bad\.nii\.gz"):
        read_volume(bad)
    with pytest.raises(UnreadableInput, match="no such file"):
        read_volume(tmp_path / "missing.nii")
    other = tmp_path / "volume.xyz"
    other.write_bytes(b"")
    with pytest.raises(UnreadableInput, match="unknown volume format"):
        read_volume(other)


def test_truncated_nifti_raises_naming_the_file(tmp_path):
    path = write_volume(_volume(np.ones((4, 5, 6), np.int16)), tmp_path / "whole.nii")
    truncated = tmp_path / "cut.nii"
    truncated.write_bytes(path.read_bytes()[:400])
    with pytest.raises(UnreadableInput, match=r"cut\.nii"):
        read_volume(truncated)


@pytest.mark.skipif(not CT_PITCH.is_file(), reason=f"shared NIfTI samples not found at {CT_PITCH}")
def test_ct_pitch_orientation_and_geometry():
    import nibabel

    image = nibabel.load(CT_PITCH)
    volume = read_volume(CT_PITCH)
    assert volume.array.shape == image.shape[::-1]
    assert volume.array.dtype == np.uint8
    # A letter names a direction in the patient, whatever the coordinate system: nibabel's codes must agree.
    assert volume.orientation == "".join(nibabel.aff2axcodes(image.affine))
    assert volume.orientation != "LPS"
    assert not volume.is_sheared
    pitch = np.degrees(np.arccos(abs(volume.direction[2, 2])))
    assert pitch > 10.0, "CT_pitch is an oblique (pitched) acquisition"
    np.testing.assert_allclose(volume.spacing, image.header.get_zooms()[:3], rtol=1e-5)
    centre_ijk = (np.array(image.shape[:3]) - 1) / 2
    centre_ras = image.affine[:3, :3] @ centre_ijk + image.affine[:3, 3]
    np.testing.assert_allclose(volume.voxel_to_patient(centre_ijk), centre_ras * [-1, -1, 1], atol=1e-4)
    k, j, i = (np.array(volume.array.shape) // 3).tolist()
    assert volume.array[k, j, i] == np.asarray(image.dataobj)[i, j, k]


def _nifti_with(path: Path, shape: tuple[int, ...], sform: np.ndarray | None, qform: np.ndarray | None) -> Path:
    """A NIfTI file of zeros with the given sform and qform (None: code 0, unset)."""
    import nibabel

    image = nibabel.Nifti1Image(np.zeros(shape, np.int16), None)
    image.header.set_sform(sform, code=0 if sform is None else 1)
    image.header.set_qform(qform, code=0 if qform is None else 1)
    nibabel.save(image, path)
    return path


def test_nifti_with_a_zero_dimension_is_refused_naming_the_file(tmp_path):
    path = _nifti_with(tmp_path / "zero.nii", (6, 5, 0), np.eye(4), None)
    with pytest.raises(UnreadableInput, match=r"zero\.nii: .*has no voxels"):
        read_volume(path)


@pytest.mark.parametrize(
    ("sform", "reason"),
    [
        (np.diag([0.0, 0.0, 0.0, 1.0]), "voxel step is 0 mm"),
        (np.diag([1.0, np.nan, 1.0, 1.0]), "non-finite"),
        (np.array([[1.0, 1.0, 0, 0], [0, 1e-9, 0, 0], [0, 0, 2.0, 0], [0, 0, 0, 1]]), "lie in one plane"),
    ],
)
def test_nifti_whose_affine_gives_no_geometry_is_refused_naming_the_file(tmp_path, sform, reason):
    path = _nifti_with(tmp_path / "flat.nii", (6, 5, 4), sform, np.eye(4))
    with pytest.raises(UnreadableInput, match=rf"flat\.nii: .*affine.*{reason}"):
        read_volume(path)


def test_nifti_without_sform_takes_its_geometry_from_the_qform(tmp_path):
    qform = np.diag([0.5, 0.75, 2.0, 1.0])
    volume = read_volume(_nifti_with(tmp_path / "qform.nii", (6, 5, 4), None, qform))
    np.testing.assert_allclose(volume.spacing, (0.5, 0.75, 2.0))


def test_an_empty_volume_is_not_written(tmp_path):
    empty = Volume(array=np.zeros((0, 5, 6), np.int16), affine=np.eye(4))
    with pytest.raises(GeometryError, match=r"empty\.nii\.gz: nothing to write"):
        write_volume(empty, tmp_path / "empty.nii.gz")
    assert list(tmp_path.iterdir()) == []


def _nibabel_data(name: str) -> Path:
    import nibabel

    path = Path(nibabel.__file__).parent / "tests" / "data" / name
    if not path.is_file():
        pytest.skip(f"nibabel's bundled test file {name} is absent")
    return path


def test_sixteen_bit_rgb_is_written_as_a_vector_image_nibabel_reads(tmp_path):
    import nibabel

    array = (np.arange(3 * 4 * 5 * 3, dtype=np.uint16).reshape(3, 4, 5, 3) * 401).astype(np.uint16)
    path = write_volume(_volume(array, is_rgb=True), tmp_path / "rgb16.nii")
    image = nibabel.load(path)
    assert image.shape == (5, 4, 3, 1, 3) and image.get_data_dtype() == np.uint16
    np.testing.assert_array_equal(np.asanyarray(image.dataobj)[2, 1, 0, 0], array[0, 1, 2])
    back = read_volume(path)
    assert back.is_rgb
    np.testing.assert_array_equal(back.array, array)


def test_mgh_is_read_with_nibabel_in_lps():
    import nibabel

    path = _nibabel_data("test.mgz")
    image = nibabel.load(path)
    volume = read_volume(path)
    np.testing.assert_array_equal(volume.array, np.asarray(image.dataobj).transpose(3, 2, 1, 0))
    np.testing.assert_allclose(volume.affine, LPS_FROM_RAS @ image.affine)


def test_analyze_pair_is_read_with_a_warning_about_left_and_right(tmp_path):
    import nibabel

    data = np.arange(4 * 5 * 6, dtype=np.int16).reshape(4, 5, 6)
    nibabel.save(nibabel.AnalyzeImage(data, np.diag([2.0, 2.0, 3.0, 1.0])), tmp_path / "brain.hdr")
    for name in ("brain.hdr", "brain.img"):
        volume = read_volume(tmp_path / name)
        np.testing.assert_array_equal(volume.array, data.transpose(2, 1, 0))
        assert volume.spacing == pytest.approx((2.0, 2.0, 3.0))
        assert any("Analyze 7.5 stores no orientation" in warning for warning in volume.warnings)


def test_a_header_without_its_image_file_says_so(tmp_path):
    header = tmp_path / "lonely.hdr"
    header.write_bytes(_nibabel_data("analyze.hdr").read_bytes())
    with pytest.raises(UnreadableInput, match=r"lonely\.hdr: its image file .*lonely\.img is missing"):
        read_volume(header)


def test_cifti_is_named_as_what_it_is():
    with pytest.raises(UnreadableInput, match=r"dconn\.nii: a CIFTI-2 file .* not an image volume"):
        read_volume(_nibabel_data("row_major.dconn.nii"))


def test_a_picture_named_like_a_volume_is_named_as_what_it_is(tmp_path):
    fake = tmp_path / "scan.mgz"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    with pytest.raises(UnreadableInput, match=r"scan\.mgz: not a MGH file: it is a PNG picture"):
        read_volume(fake)
