"""NIfTI and NRRD / MetaImage (SimpleITK) volumes to and from :class:`Volume`.

NIfTI is read with nibabel and written by :mod:`medstation.io.nifti_write` (the same header nibabel writes,
without importing it). NIfTI stores voxels ``data[x, y, z(, t)]`` with a voxel-to-RAS affine; MedStation holds
``[(t,) k, j, i]`` with a voxel-to-LPS affine, where ``(i, j, k) = (x, y, z)``. The RAS <-> LPS change (negate
the first two rows) happens here and nowhere else. The sform keeps a sheared affine, so a gantry-tilted volume
round-trips exactly; SimpleITK's formats cannot hold shear and refuse such a volume.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from medstation.core.volume import Volume, VolumeInfo
from medstation.errors import GeometryError, UnreadableInput
from medstation.io.dicom_rescale import rescale_frames

LPS_FROM_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])
_NIFTI_SUFFIXES = (".nii", ".nii.gz")
_SIMPLEITK_SUFFIXES = (".nrrd", ".nhdr", ".mha", ".mhd")
_MIN_STEP_MM = 1e-6
_MIN_AXES_VOLUME = 1e-6
"""Smallest voxel step (mm) and smallest ``|det|`` of the unit voxel axes a NIfTI affine may have."""


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for suffix in (*_NIFTI_SUFFIXES, *_SIMPLEITK_SUFFIXES):
        if name.endswith(suffix):
            return suffix
    return path.suffix.lower()


def read_volume(path: str | os.PathLike) -> Volume:
    """Read a ``.nii``, ``.nii.gz``, ``.nrrd``, ``.nhdr``, ``.mha`` or ``.mhd`` file as a Volume (LPS, mm).

    Raises
    ------
    UnreadableInput
        When the file is missing, of an unknown type or damaged.
    """
    path = Path(path)
    if not path.is_file():
        raise UnreadableInput(f"{path}: no such file")
    suffix = _suffix(path)
    if suffix in _NIFTI_SUFFIXES:
        return _read_nifti(path)
    if suffix in _SIMPLEITK_SUFFIXES:
        return _read_with_simpleitk(path)
    raise UnreadableInput(f"{path}: unknown volume format (expected .nii, .nii.gz, .nrrd, .mha or .mhd)")


def write_volume(volume: Volume, path: str | os.PathLike) -> Path:
    """Write ``volume`` to ``path`` (format from the suffix); the file appears complete or not at all.

    The affine's regular grid is written: irregular slice positions (``volume.slice_positions``) cannot be
    stored in these formats, and the volume's warnings say so.

    Raises
    ------
    GeometryError
        When the format cannot hold the volume's geometry (a sheared affine in NRRD / MetaImage), or the volume
        has no voxels.
    UnreadableInput
        When the suffix names no supported format.
    """
    path = Path(path)
    suffix = _suffix(path)
    if suffix not in (*_NIFTI_SUFFIXES, *_SIMPLEITK_SUFFIXES):
        raise UnreadableInput(f"{path}: cannot write this format (use .nii, .nii.gz, .nrrd, .mha or .mhd)")
    if volume.array.size == 0:
        raise GeometryError(f"{path}: nothing to write: the volume of shape {volume.array.shape} has no voxels")
    if suffix in (".nhdr", ".mhd"):
        _write_with_simpleitk(volume, path)
        return path
    handle, temporary = tempfile.mkstemp(prefix=".partial-", suffix=suffix, dir=path.parent)
    os.close(handle)
    try:
        if suffix in _NIFTI_SUFFIXES:
            _write_nifti(volume, Path(temporary))
        else:
            _write_with_simpleitk(volume, Path(temporary))
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return path


def _read_nifti(path: Path) -> Volume:
    import nibabel

    try:
        image = nibabel.load(path)
        stored = np.asanyarray(image.dataobj.get_unscaled())
        slope, intercept = image.dataobj.slope, image.dataobj.inter
        affine = LPS_FROM_RAS @ image.affine
    except Exception as error:
        raise UnreadableInput(f"{path}: damaged NIfTI file ({type(error).__name__}: {error})") from error
    if stored.ndim > 4:
        stored = stored.reshape(stored.shape[:4]) if all(n == 1 for n in stored.shape[4:]) else stored
    if stored.ndim not in (3, 4):
        raise UnreadableInput(f"{path}: a NIfTI volume of shape {stored.shape} is not 3-D or 4-D")
    if 0 in stored.shape:
        raise UnreadableInput(f"{path}: a NIfTI volume of shape {stored.shape} has no voxels (a dimension is 0)")
    _check_nifti_affine(path, affine)
    is_rgb = stored.dtype.names is not None
    if is_rgb:
        stored = np.stack([stored[name] for name in stored.dtype.names], axis=-1)
    array = np.ascontiguousarray(_nifti_to_kji(stored, is_rgb))
    if not array.dtype.isnative:
        array = array.astype(array.dtype.newbyteorder("="))
    if not is_rgb and (slope, intercept) != (1.0, 0.0):
        array = rescale_frames(array, np.float64(slope), np.float64(intercept))
    description = image.header["descrip"].tobytes().rstrip(b"\0").decode("ascii", "replace")
    return Volume(array=array, affine=affine, info=VolumeInfo(series_description=description), is_rgb=is_rgb)


def _affine_problem(affine: np.ndarray) -> str | None:
    """Why ``affine`` cannot place voxels in the patient, or None when it can."""
    if not np.all(np.isfinite(affine)):
        return "it holds non-finite numbers"
    axes = affine[:3, :3]
    steps = np.linalg.norm(axes, axis=0)
    if steps.min() < _MIN_STEP_MM:
        return f"a voxel step is {steps.min():.3g} mm"
    if abs(np.linalg.det(axes / steps)) < _MIN_AXES_VOLUME:
        return "its voxel axes lie in one plane (determinant near 0)"
    return None


def _check_nifti_affine(path: Path, affine: np.ndarray) -> None:
    """UnreadableInput naming ``path`` when the header's voxel-to-world affine gives no usable geometry."""
    problem = _affine_problem(affine)
    if problem is not None:
        raise UnreadableInput(
            f"{path}: the NIfTI header's voxel-to-world affine (sform or qform) is unusable: {problem}; "
            "fix the header's sform or qform"
        )


def _nifti_to_kji(data: np.ndarray, is_rgb: bool) -> np.ndarray:
    """``[x, y, z(, t)(, c)]`` to ``[(t,) k, j, i(, c)]`` (a view)."""
    spatial = data.ndim - (1 if is_rgb else 0)
    order = [2, 1, 0] if spatial == 3 else [3, 2, 1, 0]
    return data.transpose(order + ([spatial] if is_rgb else []))


def _write_nifti(volume: Volume, path: Path) -> None:
    from medstation.io.nifti_write import write_nifti

    write_nifti(volume.array, LPS_FROM_RAS @ volume.affine, path, volume.info.series_description, volume.is_rgb)


def _read_with_simpleitk(path: Path) -> Volume:
    import SimpleITK as sitk

    try:
        image = sitk.ReadImage(str(path))
    except Exception as error:
        raise UnreadableInput(f"{path}: damaged image file ({type(error).__name__}: {error})") from error
    dimension = image.GetDimension()
    if dimension not in (3, 4):
        raise UnreadableInput(f"{path}: a {dimension}-D image is not a volume")
    array = sitk.GetArrayFromImage(image)
    if not array.dtype.isnative:
        array = array.astype(array.dtype.newbyteorder("="))
    direction = np.array(image.GetDirection()).reshape(dimension, dimension)[:3, :3]
    affine = np.eye(4)
    affine[:3, :3] = direction * np.array(image.GetSpacing()[:3])
    affine[:3, 3] = image.GetOrigin()[:3]
    return Volume(array=array, affine=affine, is_rgb=image.GetNumberOfComponentsPerPixel() > 1)


def _write_with_simpleitk(volume: Volume, path: Path) -> None:
    import SimpleITK as sitk

    if volume.is_sheared:
        raise GeometryError(
            f"{path}: NRRD and MetaImage cannot hold a sheared (gantry-tilted) affine; write NIfTI, or "
            "resample with medstation.io.tilt.correct_gantry_tilt first"
        )
    image = sitk.GetImageFromArray(volume.array, isVector=volume.is_rgb)
    dimension = image.GetDimension()
    direction, spacing, origin = np.eye(dimension), [1.0] * dimension, [0.0] * dimension
    direction[:3, :3] = volume.direction
    spacing[:3], origin[:3] = volume.spacing, volume.origin.tolist()
    image.SetDirection(direction.ravel().tolist())
    image.SetSpacing(spacing)
    image.SetOrigin(origin)
    sitk.WriteImage(image, str(path))
