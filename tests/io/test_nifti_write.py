"""The direct NIfTI writer produces the bytes nibabel produces for the same image, header and voxels."""

from __future__ import annotations

import gzip

import nibabel
import numpy as np
import pytest

from medstation.errors import MedStationError
from medstation.io.nifti_write import write_nifti

_RGB24 = np.dtype([("R", "u1"), ("G", "u1"), ("B", "u1")])


def _affine(seed: int, shear: float = 0.0, flip: bool = False) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rotation, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    affine = np.eye(4)
    affine[:3, :3] = rotation * [0.45, 0.8, 2.5]
    affine[:3, 2] += [0.0, shear, 0.0]
    if flip:
        affine[:3, 0] *= -1
    affine[:3, 3] = rng.normal(size=3) * 100
    return affine


def _nibabel_bytes(array: np.ndarray, affine: np.ndarray, is_rgb: bool, path) -> bytes:
    spatial = array.ndim - (1 if is_rgb else 0)
    order = ([2, 1, 0] if spatial == 3 else [3, 2, 1, 0]) + ([spatial] if is_rgb else [])
    data = array.transpose(order)
    if is_rgb:
        data = np.ascontiguousarray(data).view(_RGB24)[..., 0]
    image = nibabel.Nifti1Image(data, affine)
    image.header.set_sform(affine, code=1)
    image.header.set_qform(affine, code=1)
    image.header.set_xyzt_units("mm", "sec")
    image.header["descrip"] = b"head CT"
    nibabel.save(image, path)
    return path.read_bytes()


CASES = {
    "int16 3-D": (np.arange(3 * 4 * 5, dtype=np.int16).reshape(3, 4, 5) - 1024, _affine(1), False),
    "float32 4-D": (np.linspace(-1, 1, 2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5), _affine(2), False),
    "sheared": (np.ones((3, 4, 5), np.uint16), _affine(3, shear=0.8), False),
    "left-handed": (np.ones((3, 4, 5), np.float64), _affine(4, flip=True), False),
    "RGB": (np.arange(3 * 4 * 5 * 3, dtype=np.uint8).reshape(3, 4, 5, 3), _affine(5), True),
}


@pytest.mark.parametrize("case", list(CASES))
def test_same_bytes_as_nibabel(tmp_path, case):
    array, affine, is_rgb = CASES[case]
    ours = tmp_path / "ours.nii"
    write_nifti(array, affine, ours, "head CT", is_rgb)
    assert ours.read_bytes() == _nibabel_bytes(array, affine, is_rgb, tmp_path / "nibabel.nii")


def test_gz_holds_the_same_bytes_compressed(tmp_path):
    array, affine, _ = CASES["int16 3-D"]
    write_nifti(array, affine, tmp_path / "plain.nii", "head CT")
    write_nifti(array, affine, tmp_path / "packed.nii.gz", "head CT")
    assert gzip.decompress((tmp_path / "packed.nii.gz").read_bytes()) == (tmp_path / "plain.nii").read_bytes()


def test_a_non_contiguous_view_is_written_in_index_order(tmp_path):
    array = np.arange(4 * 5 * 6, dtype=np.int16).reshape(4, 5, 6)[::2, :, ::-1]
    write_nifti(array, np.eye(4), tmp_path / "view.nii")
    image = nibabel.load(tmp_path / "view.nii")
    np.testing.assert_array_equal(np.asarray(image.dataobj), array.transpose(2, 1, 0))


def test_voxels_nifti_cannot_hold_are_refused_naming_the_file(tmp_path):
    with pytest.raises(MedStationError, match=r"strings\.nii"):
        write_nifti(np.array([[["a"]]]), np.eye(4), tmp_path / "strings.nii")
