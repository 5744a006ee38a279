"""NIfTI and NRRD / MetaImage (SimpleITK) volumes to and from :class:`Volume`.

NIfTI is read with nibabel and written by :mod:`medstation.io.nifti_write` (the same header nibabel writes,
without importing it). NIfTI stores voxels ``data[x, y, z(, t)]`` with a voxel-to-RAS affine; MedStation holds
``[(t,) k, j, i]`` with a voxel-to-LPS affine, where ``(i, j, k) = (x, y, z)``. The RAS <-> LPS change (negate
the first two rows) happens here and nowhere else. The sform keeps a sheared affine, so a gantry-tilted volume
round-trips exactly; SimpleITK's formats cannot hold shear and refuse such a volume.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from medstation.atomic_files import write_atomically
from medstation.core.volume import Volume, VolumeInfo
from medstation.errors import GeometryError, UnreadableInput
from medstation.io.dicom.pixels import first_line
from medstation.io.dicom.rescale import rescale_frames
from medstation.io.formats import NIBABEL_SUFFIXES, SIMPLEITK_SUFFIXES, VOLUME_SUFFIXES, file_kind, volume_suffix

LPS_FROM_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])
_WRITABLE_SUFFIXES = (".nii", ".nii.gz", *SIMPLEITK_SUFFIXES)
_MIN_STEP_MM = 1e-6
_MIN_AXES_VOLUME = 1e-6
"""Smallest voxel step (mm) and smallest ``|det|`` of the unit voxel axes a NIfTI affine may have."""
_CIFTI_INTENTS = range(3000, 3100)
_ANALYZE_WARNING = (
    "Analyze 7.5 stores no orientation: left and right are as the Analyze convention assumes "
    "(radiological), check them against a marker"
)


def read_volume(path: str | os.PathLike) -> Volume:
    """Read a volume file as a Volume (LPS, mm).

    NIfTI-1/2 (``.nii``, ``.nii.gz``, ``.hdr``/``.img`` pairs), Analyze 7.5 (``.hdr``/``.img``) and FreeSurfer
    MGH (``.mgh``, ``.mgz``) are read with nibabel; NRRD (``.nrrd``, ``.nhdr``) and MetaImage (``.mha``,
    ``.mhd``) with SimpleITK.

    Raises
    ------
    UnreadableInput
        When the file is missing, of an unknown type, damaged, or not an image volume (CIFTI).
    """
    path = Path(path)
    if not path.is_file():
        raise UnreadableInput(f"{path}: no such file")
    suffix = volume_suffix(path)
    if suffix in NIBABEL_SUFFIXES:
        return _read_with_nibabel(path)
    if suffix in SIMPLEITK_SUFFIXES:
        return _read_with_simpleitk(path)
    raise UnreadableInput(f"{path}: unknown volume format (expected {', '.join(VOLUME_SUFFIXES)})")


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
    suffix = volume_suffix(path)
    if suffix not in _WRITABLE_SUFFIXES:
        raise UnreadableInput(f"{path}: cannot write this format (use {', '.join(_WRITABLE_SUFFIXES)})")
    if volume.array.size == 0:
        raise GeometryError(f"{path}: nothing to write: the volume of shape {volume.array.shape} has no voxels")
    if suffix in (".nhdr", ".mhd"):
        _write_with_simpleitk(volume, path)
        return path
    write = _write_nifti if suffix in NIBABEL_SUFFIXES else _write_with_simpleitk
    write_atomically(path, lambda temporary: write(volume, temporary))
    return path


def _read_with_nibabel(path: Path) -> Volume:
    import nibabel

    try:
        image = nibabel.load(path)
    except Exception as error:
        raise UnreadableInput(f"{path}: {_unreadable_reason(path, error)}") from error
    _refuse_non_volume(path, image)
    try:
        dataobj = image.dataobj
        stored = np.asanyarray(dataobj.get_unscaled())
        slope, intercept = _scaling(dataobj)
        affine = LPS_FROM_RAS @ image.affine
    except FileNotFoundError as error:
        raise UnreadableInput(f"{path}: its image file {error.filename} is missing (a .hdr needs its .img)") from error
    except Exception as error:
        raise UnreadableInput(f"{path}: {_unreadable_reason(path, error)}") from error
    is_rgb = stored.dtype.names is not None
    if is_rgb:
        stored = np.stack([stored[name] for name in stored.dtype.names], axis=-1)
    elif _is_colour_vector(image, stored):
        is_rgb = True
        stored = stored[:, :, :, 0] if stored.shape[3] == 1 else stored
    elif stored.ndim > 4:
        stored = stored.reshape(stored.shape[:4]) if all(n == 1 for n in stored.shape[4:]) else stored
    spatial_ndim = stored.ndim - (1 if is_rgb else 0)
    if spatial_ndim not in (3, 4):
        raise UnreadableInput(f"{path}: a NIfTI volume of shape {stored.shape} is not 3-D or 4-D")
    if 0 in stored.shape:
        raise UnreadableInput(f"{path}: a NIfTI volume of shape {stored.shape} has no voxels (a dimension is 0)")
    _check_nifti_affine(path, affine)
    array = np.ascontiguousarray(_nifti_to_kji(stored, is_rgb))
    if not array.dtype.isnative:
        array = array.astype(array.dtype.newbyteorder("="))
    if not is_rgb and (slope, intercept) != (1.0, 0.0):
        array = rescale_frames(array, np.float64(slope), np.float64(intercept))
    warnings = [_ANALYZE_WARNING] if type(image).__name__.endswith("AnalyzeImage") else []
    return Volume(array=array, affine=affine, info=VolumeInfo(series_description=_description(image)),
                  warnings=warnings, is_rgb=is_rgb)


def _format_name(path: Path) -> str:
    return {".mgh": "MGH", ".mgz": "MGH", ".hdr": "Analyze or NIfTI header", ".img": "Analyze or NIfTI image"}.get(
        volume_suffix(path), "NIfTI")


def _unreadable_reason(path: Path, error: Exception) -> str:
    """Why nibabel could not read ``path``: what the file is instead, when that can be told, else the damage."""
    kind = file_kind(path)
    if kind is not None and not kind.startswith(("a NIfTI", "the header of a NIfTI", "a gzip")):
        return f"not a {_format_name(path)} file: it is {kind}"
    return f"damaged {_format_name(path)} file ({first_line(error)})"


def _refuse_non_volume(path: Path, image) -> None:
    """CIFTI (data on brain surfaces and grayordinates) holds no image grid: say so instead of failing later."""
    intent = image.header.get("intent_code") if hasattr(image.header, "get") else None
    if type(image).__name__.startswith("Cifti") or (intent is not None and int(intent) in _CIFTI_INTENTS):
        raise UnreadableInput(
            f"{path}: a CIFTI-2 file (values on cortical surface vertices and grayordinates, not on a voxel grid): "
            "it is not an image volume; open the NIfTI or DICOM images it was made from"
        )


def _scaling(dataobj) -> tuple[float, float]:
    """The header's intensity slope and intercept (1 and 0 where the format has none)."""
    slope = getattr(dataobj, "slope", 1.0)
    intercept = getattr(dataobj, "inter", 0.0)
    slope = 1.0 if slope is None or not np.isfinite(slope) or slope == 0 else float(slope)
    intercept = 0.0 if intercept is None or not np.isfinite(intercept) else float(intercept)
    return slope, intercept


def _description(image) -> str:
    header = image.header
    if "descrip" not in getattr(header, "keys", list)():
        return ""
    return header["descrip"].tobytes().rstrip(b"\0").decode("ascii", "replace")


def _is_colour_vector(image, stored: np.ndarray) -> bool:
    """True for RGB kept at its depth: a vector-intent image with three samples along the fifth dimension."""
    from medstation.io.nifti_write import VECTOR_INTENT

    intent = image.header.get("intent_code") if hasattr(image.header, "get") else None
    return stored.ndim == 5 and stored.shape[4] == 3 and intent is not None and int(intent) == VECTOR_INTENT


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
