"""Write a NIfTI-1 single file (``.nii`` or ``.nii.gz``): a 348-byte header, then the voxels as they lie in memory.

A ``[(t,) k, j, i]`` C-ordered array is already in NIfTI's order (x = i varies fastest), so the voxels are
written from the array's own buffer, without a transposed copy and without importing nibabel. The header is
the one nibabel writes for the same image: the voxel-to-RAS affine as sform (code 1, sheared or not) and as
qform (code 1, the nearest rotation with the column lengths as zooms), units mm and s, intensity scaling 1 and 0 (none).
"""

from __future__ import annotations

import gzip
import struct
from contextlib import nullcontext
from pathlib import Path

import numpy as np

from medstation.errors import MedStationError

_HEADER = struct.Struct("<i10s18sihBB8h3f4h8f3fhBB4f2i80s24s2h6f12f16s4s")
_EXTENSION_FLAG = b"\0\0\0\0"
_VOXEL_OFFSET = _HEADER.size + len(_EXTENSION_FLAG)
_XYZT_MM_SECONDS = 2 | 8
_GZIP_LEVEL = 1  # nibabel's default
_DATATYPE_CODES = {
    np.dtype(np.uint8): 2,
    np.dtype(np.int16): 4,
    np.dtype(np.int32): 8,
    np.dtype(np.float32): 16,
    np.dtype(np.complex64): 32,
    np.dtype(np.float64): 64,
    np.dtype(np.int8): 256,
    np.dtype(np.uint16): 512,
    np.dtype(np.uint32): 768,
    np.dtype(np.int64): 1024,
    np.dtype(np.uint64): 1280,
    np.dtype(np.complex128): 1792,
}
_RGB24_CODE = 128
VECTOR_INTENT = 1007


def write_nifti(array: np.ndarray, ras_affine: np.ndarray, path: Path, description: str = "",
                is_rgb: bool = False) -> None:
    """Write voxels ``[(t,) k, j, i(, rgb)]`` with their 4x4 voxel-to-RAS affine (mm) to ``path``.

    ``path`` ending in ``.gz`` is compressed. 8-bit RGB voxels are written as RGB triplets (``RGB24``); deeper
    RGB keeps its depth as a vector image (intent ``VECTOR``, the three samples along the fifth dimension).

    Raises
    ------
    MedStationError
        When NIfTI has no type for the voxels (e.g. strings or objects).
    """
    intent = 0
    if is_rgb and array.dtype == np.uint8:
        code, bitpix = _RGB24_CODE, 24
        shape_xyz = array.shape[-2::-1]
    else:
        array = array.astype(_storable_dtype(array.dtype, path), copy=False)
        code, bitpix = _DATATYPE_CODES[array.dtype], array.dtype.itemsize * 8
        shape_xyz = array.shape[::-1]
        if is_rgb:
            # NIfTI's fifth dimension varies slowest: the sample axis goes first in memory, after a time axis of 1.
            spatial = array.shape[:-1] if array.ndim == 5 else (1, *array.shape[:-1])
            array = np.moveaxis(array, -1, 0).reshape(3, *spatial)
            shape_xyz, intent = (*spatial[::-1], 3), VECTOR_INTENT
    array = np.ascontiguousarray(array)
    header = _header(shape_xyz, code, bitpix, np.asarray(ras_affine, dtype=np.float64), description, intent)
    compressed = path.name.lower().endswith(".gz")
    with open(path, "wb") as raw, (
        gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=_GZIP_LEVEL) if compressed else nullcontext(raw)
    ) as file:
        file.write(header + _EXTENSION_FLAG)
        file.write(memoryview(array).cast("B"))


def _storable_dtype(dtype: np.dtype, path: Path) -> np.dtype:
    dtype = np.dtype(dtype).newbyteorder("=")
    if dtype == np.bool_:
        return np.dtype(np.uint8)
    if dtype == np.float16:
        return np.dtype(np.float32)
    if dtype not in _DATATYPE_CODES:
        raise MedStationError(f"{path}: NIfTI cannot store voxels of type {dtype}")
    return dtype


def _header(shape_xyz: tuple[int, ...], code: int, bitpix: int, affine: np.ndarray, description: str,
            intent: int = 0) -> bytes:
    """The 348 header bytes for an image of shape ``(x, y, z(, t(, u)))``."""
    zooms = np.sqrt(np.sum(affine[:3, :3] ** 2, axis=0))
    qfac, quaternion = _qform_rotation(affine[:3, :3] / zooms)
    dim = [len(shape_xyz), *shape_xyz] + [1] * (7 - len(shape_xyz))
    pixdim = [qfac, *zooms] + [1.0] * 4
    return _HEADER.pack(
        348, b"", b"", 0, 0, 0, 0, *dim, 0.0, 0.0, 0.0, intent, code, bitpix, 0, *pixdim,
        float(_VOXEL_OFFSET), 1.0, 0.0, 0, 0, _XYZT_MM_SECONDS, 0.0, 0.0, 0.0, 0.0, 0, 0,
        description.encode("ascii", "replace")[:79], b"", 1, 1, *quaternion[1:], *affine[:3, 3],
        *affine[0], *affine[1], *affine[2], b"", b"n+1\0",
    )


def _qform_rotation(directions: np.ndarray) -> tuple[float, np.ndarray]:
    """``(qfac, quaternion (a, b, c, d))`` of the rotation nearest the unit-column matrix ``directions``.

    A left-handed matrix gets qfac -1 and its third column negated; the nearest orthogonal matrix is its
    polar factor, converted to a quaternion with a non-negative real part.
    """
    rotation = directions.copy()
    qfac = 1.0
    if np.linalg.det(rotation) <= 0:
        qfac = -1.0
        rotation[:, 2] *= -1
    left, _, right = np.linalg.svd(rotation)
    return qfac, _quaternion(left @ right)


def _quaternion(rotation: np.ndarray) -> np.ndarray:
    """Unit quaternion ``(a, b, c, d)``, ``a >= 0``, of a 3x3 rotation matrix (Bar-Itzhack's method)."""
    xx, yx, zx, xy, yy, zy, xz, yz, zz = rotation.flat
    k = np.array([
        [xx - yy - zz, 0, 0, 0],
        [yx + xy, yy - xx - zz, 0, 0],
        [zx + xz, zy + yz, zz - xx - yy, 0],
        [yz - zy, zx - xz, xy - yx, xx + yy + zz],
    ]) / 3.0
    values, vectors = np.linalg.eigh(k)
    quaternion = vectors[[3, 0, 1, 2], np.argmax(values)]
    return -quaternion if quaternion[0] < 0 else quaternion
