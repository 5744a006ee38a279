"""The image volume: voxels plus their geometry in DICOM patient coordinates (LPS, mm).

Conventions (docs/design.md §2):

- ``array`` is indexed ``[k, j, i]`` (slice, row, column) or ``[t, k, j, i]`` for several volumes at the
  same positions.
- ``affine`` is the 4x4 matrix taking a voxel index column ``(i, j, k, 1)`` to an LPS point in mm. Its
  first three columns are the i, j, k steps in mm; they need not be orthogonal (gantry tilt shears k).
- ``spacing`` is ``(si, sj, sk)`` in mm, ``origin`` the LPS position of voxel ``(0, 0, 0)``, ``direction``
  the 3x3 matrix whose columns are the unit i, j, k axes in LPS.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

_AXIS_LETTERS = (("L", "R"), ("P", "A"), ("S", "I"))
_SHEAR_TOLERANCE = 1e-4


@dataclass(frozen=True)
class WindowPreset:
    """A display window: centre and width in the volume's real-world units (HU for CT)."""

    center: float
    width: float
    name: str = ""


@dataclass
class VolumeInfo:
    """The descriptive metadata a viewer shows next to a volume (all optional)."""

    patient_name: str = ""
    patient_id: str = ""
    study_uid: str = ""
    study_date: str = ""
    study_description: str = ""
    series_uid: str = ""
    series_number: int | None = None
    series_description: str = ""
    modality: str = ""
    frame_of_reference_uid: str = ""
    """FrameOfReferenceUID (0020,0052): series that share it share patient coordinates (LPS), so one position is one
    place in the patient in both; "" where unknown (NIfTI, pictures)."""
    photometric: str = ""
    window_presets: list[WindowPreset] = field(default_factory=list)
    patient_orientation: tuple[str, str] | None = None
    """PatientOrientation of a 2-D image: the patient directions of its rows (increasing column index) and of
    its columns (increasing row index), each from the letters A, P, L, R, H, F (e.g. ``("A", "FR")``)."""
    details: dict[str, str] = field(default_factory=dict)
    """Header text shown beside the image, by DICOM keyword (``PatientSex``, ``PatientAge``, ``StudyTime``,
    ``KVP``, ``RepetitionTime``, ``ViewPosition``, ...), as the series' first image says; absent ones are left out."""

    @property
    def invert_display(self) -> bool:
        """True for MONOCHROME1: low values are shown bright. The voxels are never inverted."""
        return self.photometric == "MONOCHROME1"


@dataclass
class Volume:
    """Voxels ``[k, j, i]`` or ``[t, k, j, i]`` (or ``[k, j, i, c]`` for RGB) with a voxel-to-LPS affine.

    Parameters
    ----------
    array
        Voxel values in real-world units (rescale already applied).
    affine
        4x4 voxel ``(i, j, k)`` to LPS (mm) matrix; may be sheared.
    info
        Patient, study and series description.
    warnings
        Human-readable geometry or content warnings found while loading.
    slice_positions
        Optional ``(n_k, 3)`` LPS positions (mm) of each slice's first voxel, kept when the true
        positions are not exactly on the affine's regular grid (irregular spacing).
    is_rgb
        True when the last axis of ``array`` holds colour samples instead of columns.
    has_patient_geometry
        False when the images had no position or orientation in the patient: ``affine`` is then nominal
        (i, j, k along L, P, S from the origin), and says nothing about where the patient is.
    spacing_known
        False when the pixel size is unknown (no or an impossible PixelSpacing): the affine's i and j steps
        are a nominal 1, so distances and areas are in pixels, not mm.
    """

    array: np.ndarray
    affine: np.ndarray
    info: VolumeInfo = field(default_factory=VolumeInfo)
    warnings: list[str] = field(default_factory=list)
    slice_positions: np.ndarray | None = None
    is_rgb: bool = False
    has_patient_geometry: bool = True
    spacing_known: bool = True

    def __post_init__(self) -> None:
        self.affine = np.asarray(self.affine, dtype=np.float64)
        if self.affine.shape != (4, 4):
            raise ValueError(f"affine must be 4x4, got {self.affine.shape}")
        spatial_ndim = self.array.ndim - (1 if self.is_rgb else 0)
        if spatial_ndim not in (3, 4):
            raise ValueError(f"array must be [k, j, i] or [t, k, j, i], got shape {self.array.shape}")

    @property
    def spatial_shape(self) -> tuple[int, int, int]:
        """``(n_k, n_j, n_i)``: slices, rows, columns."""
        stop = self.array.ndim - (1 if self.is_rgb else 0)
        return tuple(int(n) for n in self.array.shape[stop - 3 : stop])

    @property
    def n_volumes(self) -> int:
        """Number of volumes along t (1 for a plain 3-D volume)."""
        spatial_ndim = self.array.ndim - (1 if self.is_rgb else 0)
        return int(self.array.shape[0]) if spatial_ndim == 4 else 1

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Voxel size ``(si, sj, sk)`` in mm (length of each affine column)."""
        return affine_spacing(self.affine)

    @property
    def origin(self) -> np.ndarray:
        """LPS position (mm) of the centre of voxel ``(0, 0, 0)``."""
        return self.affine[:3, 3].copy()

    @property
    def direction(self) -> np.ndarray:
        """3x3 matrix whose columns are the unit i, j, k axes in LPS."""
        return self.affine[:3, :3] / np.asarray(self.spacing)

    @property
    def slice_normal(self) -> np.ndarray:
        """Unit normal of the slice plane (i axis x j axis), in LPS."""
        normal = np.cross(self.direction[:, 0], self.direction[:, 1])
        return normal / np.linalg.norm(normal)

    @property
    def shear_angle_degrees(self) -> float:
        """Angle between the k axis and the slice normal, in degrees (gantry tilt; 0 when unsheared)."""
        cosine = abs(float(np.dot(self.direction[:, 2], self.slice_normal)))
        return float(np.degrees(np.arccos(min(1.0, cosine))))

    @property
    def is_sheared(self) -> bool:
        """True when the k axis is not perpendicular to the slice plane."""
        return abs(np.cos(np.radians(self.shear_angle_degrees)) - 1.0) > _SHEAR_TOLERANCE

    @property
    def orientation(self) -> str:
        """Three letters: the LPS direction the i, j, k axes point to, e.g. ``"LPS"`` or ``"LAS"``."""
        return orientation_code(self.affine)

    def voxel_to_patient(self, ijk: np.ndarray) -> np.ndarray:
        """Map voxel indices ``(..., 3)`` given as ``(i, j, k)`` to LPS points (mm)."""
        ijk = np.asarray(ijk, dtype=np.float64)
        return ijk @ self.affine[:3, :3].T + self.affine[:3, 3]

    def patient_to_voxel(self, lps: np.ndarray) -> np.ndarray:
        """Map LPS points ``(..., 3)`` in mm to continuous voxel indices ``(i, j, k)``."""
        lps = np.asarray(lps, dtype=np.float64)
        return (lps - self.affine[:3, 3]) @ np.linalg.inv(self.affine[:3, :3]).T

    def with_array(self, array: np.ndarray, affine: np.ndarray | None = None) -> Volume:
        """A copy sharing the metadata, with new voxels (and optionally a new affine)."""
        return replace(
            self,
            array=array,
            affine=self.affine if affine is None else affine,
            warnings=list(self.warnings),
            slice_positions=None if affine is not None else self.slice_positions,
        )


def affine_spacing(affine: np.ndarray) -> tuple[float, float, float]:
    """Voxel size ``(si, sj, sk)`` in mm of a voxel-to-LPS affine: the lengths of its i, j, k columns."""
    return tuple(float(s) for s in np.linalg.norm(np.asarray(affine, dtype=np.float64)[:3, :3], axis=0))


def orientation_code(affine: np.ndarray) -> str:
    """Orientation letters of a voxel-to-LPS affine: where the i, j, k axes point (``"LPS"``, ``"RAS"``, ...).

    Each voxel axis gets a distinct LPS axis, the one it is closest to (largest cosine first); a positive
    LPS x is ``L``, y ``P``, z ``S``.
    """
    columns = np.asarray(affine, dtype=np.float64)[:3, :3]
    cosines = np.abs(columns / np.linalg.norm(columns, axis=0))
    letters = [""] * 3
    for _ in range(3):
        lps_axis, voxel_axis = np.unravel_index(int(np.argmax(cosines)), cosines.shape)
        sign_positive = columns[lps_axis, voxel_axis] > 0
        letters[voxel_axis] = _AXIS_LETTERS[lps_axis][0 if sign_positive else 1]
        cosines[lps_axis, :] = -1.0
        cosines[:, voxel_axis] = -1.0
    return "".join(letters)
