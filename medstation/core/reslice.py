"""Radiological display planes of a volume: which voxel axes run right and down on screen.

Screen conventions (radiological): axial shows the patient's left on the screen's right and anterior up;
coronal shows the patient's left on the screen's right and superior up; sagittal shows anterior on the
screen's left and superior up. Each display plane is the voxel plane closest to the wanted one, taken from
``Volume.array`` ``[k, j, i]`` as a numpy view (transpose and negative strides, no copy). Screen coordinates
are millimetres in the plane: ``x`` to the right, ``y`` down, from the true LPS geometry, so oblique and
sheared (gantry-tilt) volumes are drawn with their real shape (the pixel grid may then be rotated or skewed on
screen). The screen axes are the wanted directions projected onto the plane, so a plane that only holds a
rotated pixel grid keeps plain letters, and a truly oblique plane gets composite ones (``"AI"``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from medstation.core.volume import orientation_code

VIEWS = ("axial", "coronal", "sagittal")

_SCREEN_RIGHT_DOWN = {
    "axial": ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0)),
    "coronal": ((1.0, 0.0, 0.0), (0.0, 0.0, -1.0)),
    "sagittal": ((0.0, 1.0, 0.0), (0.0, 0.0, -1.0)),
}
_LPS_AXIS_OF_LETTER = {"L": 0, "R": 0, "P": 1, "A": 1, "S": 2, "I": 2}
_LETTERS = (("L", "R"), ("P", "A"), ("S", "I"))
_OPPOSITE_LETTER = str.maketrans("APLRHF", "PARLFH")
OBLIQUE_LETTER_COSINE = 0.17
"""A direction gets a second (third) letter when it leans more than about 10 degrees toward that axis."""
_GEOMETRY_TOLERANCE = 1e-3


def direction_label(direction: np.ndarray) -> str:
    """Letters of an LPS direction, strongest first: ``"L"``, or ``"RA"`` for an oblique one.

    Parameters
    ----------
    direction
        A vector in LPS (any length).
    """
    unit = np.asarray(direction, dtype=np.float64) / np.linalg.norm(direction)
    order = np.argsort(-np.abs(unit), kind="stable")
    letters = [_LETTERS[axis][0 if unit[axis] > 0 else 1] for axis in order if abs(unit[axis]) >= OBLIQUE_LETTER_COSINE]
    return "".join(letters)


def opposite_direction(letters: str) -> str:
    """The PatientOrientation letters of the opposite direction, letter by letter: ``"AL"`` -> ``"PR"``.

    Parameters
    ----------
    letters
        Letters from A, P, L, R, H, F (anterior, posterior, left, right, head, foot).
    """
    return letters.translate(_OPPOSITE_LETTER)


@dataclass(frozen=True)
class DisplayPlane:
    """How one view shows a volume: the voxel axes on screen and the plane's geometry in LPS (mm).

    Voxel axes are numbered ``0 = i`` (column), ``1 = j`` (row), ``2 = k`` (slice) of ``Volume.array``.
    Screen pixel ``(col, row)`` of slice ``s`` is the voxel whose index along ``normal_axis`` is ``s``.
    """

    view: str
    normal_axis: int
    column_axis: int
    row_axis: int
    column_flipped: bool
    row_flipped: bool
    n_slices: int
    n_rows: int
    n_columns: int
    origin: np.ndarray
    """LPS (mm) of screen pixel (0, 0) in slice 0."""
    column_step: np.ndarray
    """LPS step (mm) of one screen column to the right."""
    row_step: np.ndarray
    """LPS step (mm) of one screen row down."""
    slice_step: np.ndarray
    """LPS step (mm) from slice ``s`` to ``s + 1``."""
    screen_x: np.ndarray
    """Unit LPS direction of the screen's right: the wanted direction (L, or P in sagittal) projected on the plane."""
    screen_y: np.ndarray
    """Unit LPS direction of the screen's bottom (in the plane, perpendicular to ``screen_x``)."""

    @property
    def labels(self) -> dict[str, str]:
        """Orientation letters of the four screen edges: ``left``, ``right``, ``top``, ``bottom``."""
        return {
            "left": direction_label(-self.screen_x),
            "right": direction_label(self.screen_x),
            "top": direction_label(-self.screen_y),
            "bottom": direction_label(self.screen_y),
        }

    def stored_image_labels(self, patient_orientation: tuple[str, str]) -> dict[str, str]:
        """Edge letters from an image's PatientOrientation (for images without patient geometry).

        The row direction (first value) runs along increasing column index ``i``, the column direction
        (second value) along increasing row index ``j``; both ends of a screen axis along which neither runs
        (the stack axis ``k``) get ``"?"``.

        Parameters
        ----------
        patient_orientation
            ``(row direction, column direction)``, e.g. ``("L", "F")``.
        """
        along = {0: patient_orientation[0], 1: patient_orientation[1]}
        right = along.get(self.column_axis)
        down = along.get(self.row_axis)
        if right is not None and self.column_flipped:
            right = opposite_direction(right)
        if down is not None and self.row_flipped:
            down = opposite_direction(down)
        return {
            "left": "?" if right is None else opposite_direction(right),
            "right": "?" if right is None else right,
            "top": "?" if down is None else opposite_direction(down),
            "bottom": "?" if down is None else down,
        }

    @property
    def plane_normal(self) -> np.ndarray:
        """Unit LPS normal of the displayed plane (screen right x screen down)."""
        return np.cross(self.screen_x, self.screen_y)

    @property
    def slice_spacing(self) -> float:
        """Distance (mm) between neighbouring slices, measured along the plane normal."""
        return abs(float(np.dot(self.slice_step, self.plane_normal)))

    @property
    def is_sheared(self) -> bool:
        """True when stepping slices also shifts the picture in the plane (gantry tilt seen in this view)."""
        in_plane = np.array([np.dot(self.slice_step, self.screen_x), np.dot(self.slice_step, self.screen_y)])
        return bool(np.linalg.norm(in_plane) > _GEOMETRY_TOLERANCE * np.linalg.norm(self.slice_step))

    @property
    def is_skewed(self) -> bool:
        """True when the pixel rows and columns are not perpendicular in the patient (drawn as parallelograms)."""
        cosine = np.dot(self.row_step, self.column_step) / (np.linalg.norm(self.row_step) *
                                                            np.linalg.norm(self.column_step))
        return abs(float(cosine)) > _GEOMETRY_TOLERANCE

    def pixel_to_screen(self, slice_index: float) -> np.ndarray:
        """2x3 matrix taking ``(col, row, 1)`` of slice ``slice_index`` to screen ``(x, y)`` in mm."""
        basis = np.stack([self.screen_x, self.screen_y])
        shift = basis @ (self.slice_step * slice_index)
        return np.column_stack([basis @ self.column_step, basis @ self.row_step, shift])

    def screen_extent(self) -> tuple[float, float, float, float]:
        """``(x0, y0, x1, y1)``: the screen rectangle (mm) holding every slice of the stack, pixel edges included."""
        corners = np.array([
            self.pixel_to_screen(index) @ np.array([column, row, 1.0])
            for index in (0, self.n_slices - 1)
            for column in (-0.5, self.n_columns - 0.5)
            for row in (-0.5, self.n_rows - 0.5)
        ])
        (x0, y0), (x1, y1) = corners.min(axis=0), corners.max(axis=0)
        return float(x0), float(y0), float(x1), float(y1)

    def screen_to_patient(self, x: float, y: float) -> np.ndarray:
        """LPS point (mm) of screen point ``(x, y)`` (mm) in the plane through slice 0."""
        return self.origin + x * self.screen_x + y * self.screen_y

    def voxel_of_pixel(self, column: np.ndarray, row: np.ndarray, slice_index: np.ndarray) -> np.ndarray:
        """Continuous voxel indices ``(..., 3)`` as ``(i, j, k)`` of screen pixels ``(col, row)`` of a slice."""
        column, row, slice_index = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in
                                                         (column, row, slice_index)))
        ijk = np.empty((*column.shape, 3))
        sizes = self._voxel_axis_sizes()
        ijk[..., self.column_axis] = sizes[self.column_axis] - 1 - column if self.column_flipped else column
        ijk[..., self.row_axis] = sizes[self.row_axis] - 1 - row if self.row_flipped else row
        ijk[..., self.normal_axis] = slice_index
        return ijk

    def pixel_of_voxel(self, ijk: np.ndarray) -> np.ndarray:
        """Screen ``(col, row, slice)`` ``(..., 3)`` of continuous voxel indices ``(i, j, k)``."""
        ijk = np.asarray(ijk, dtype=np.float64)
        sizes = self._voxel_axis_sizes()
        column = ijk[..., self.column_axis]
        row = ijk[..., self.row_axis]
        if self.column_flipped:
            column = sizes[self.column_axis] - 1 - column
        if self.row_flipped:
            row = sizes[self.row_axis] - 1 - row
        return np.stack([column, row, ijk[..., self.normal_axis]], axis=-1)

    def screen_of_patient(self, lps: np.ndarray) -> np.ndarray:
        """Screen ``(x, y)`` (mm) of LPS points ``(..., 3)``, projected onto the plane."""
        offset = np.asarray(lps, dtype=np.float64) - self.origin
        return np.stack([offset @ self.screen_x, offset @ self.screen_y], axis=-1)

    def pixel_of_screen(self, x: float, y: float, slice_index: float) -> tuple[float, float]:
        """Continuous screen pixel ``(col, row)`` of screen point ``(x, y)`` (mm) on slice ``slice_index``."""
        matrix = self.pixel_to_screen(slice_index)
        column, row = np.linalg.solve(matrix[:, :2], np.array([x, y]) - matrix[:, 2])
        return float(column), float(row)

    def _voxel_axis_sizes(self) -> dict[int, int]:
        return {self.column_axis: self.n_columns, self.row_axis: self.n_rows, self.normal_axis: self.n_slices}


def display_plane(affine: np.ndarray, shape_kji: tuple[int, int, int], view: str) -> DisplayPlane:
    """The display plane of ``view`` (``"axial"``, ``"coronal"`` or ``"sagittal"``) for a voxel-to-LPS affine.

    Parameters
    ----------
    affine
        4x4 voxel ``(i, j, k)`` to LPS (mm) matrix, possibly oblique or sheared.
    shape_kji
        Spatial shape ``(n_k, n_j, n_i)``.
    """
    if view not in _SCREEN_RIGHT_DOWN:
        raise ValueError(f"unknown view {view!r}; expected one of {', '.join(VIEWS)}")
    affine = np.asarray(affine, dtype=np.float64)
    right, down = (np.array(v) for v in _SCREEN_RIGHT_DOWN[view])
    lps_axis_of_voxel = [_LPS_AXIS_OF_LETTER[letter] for letter in orientation_code(affine)]
    column_axis = lps_axis_of_voxel.index(int(np.argmax(np.abs(right))))
    row_axis = lps_axis_of_voxel.index(int(np.argmax(np.abs(down))))
    normal_axis = 3 - column_axis - row_axis
    steps = affine[:3, :3]
    column_flipped = bool(np.dot(steps[:, column_axis], right) < 0)
    row_flipped = bool(np.dot(steps[:, row_axis], down) < 0)
    sizes = {0: shape_kji[2], 1: shape_kji[1], 2: shape_kji[0]}
    column_step = steps[:, column_axis] * (-1.0 if column_flipped else 1.0)
    row_step = steps[:, row_axis] * (-1.0 if row_flipped else 1.0)
    first_voxel = np.zeros(3)
    first_voxel[column_axis] = sizes[column_axis] - 1 if column_flipped else 0
    first_voxel[row_axis] = sizes[row_axis] - 1 if row_flipped else 0
    normal = np.cross(column_step, row_step)
    normal /= np.linalg.norm(normal)
    right_in_plane = right - np.dot(right, normal) * normal
    screen_x = right_in_plane / np.linalg.norm(right_in_plane)
    return DisplayPlane(
        view=view,
        normal_axis=normal_axis,
        column_axis=column_axis,
        row_axis=row_axis,
        column_flipped=column_flipped,
        row_flipped=row_flipped,
        n_slices=sizes[normal_axis],
        n_rows=sizes[row_axis],
        n_columns=sizes[column_axis],
        origin=affine[:3, :3] @ first_voxel + affine[:3, 3],
        column_step=column_step,
        row_step=row_step,
        slice_step=steps[:, normal_axis].copy(),
        screen_x=screen_x,
        screen_y=np.cross(normal, screen_x),
    )


def _array_axis(voxel_axis: int) -> int:
    return 2 - voxel_axis


def _orient(image: np.ndarray, plane: DisplayPlane) -> np.ndarray:
    """Turn a 2-D ``image`` whose axes are the plane's two voxel axes in array order into screen order."""
    first_remaining = max(a for a in range(3) if a != plane.normal_axis)
    if first_remaining != plane.row_axis:
        image = image.swapaxes(0, 1)
    if plane.row_flipped:
        image = image[::-1]
    if plane.column_flipped:
        image = image[:, ::-1]
    return image


def extract_slice(array: np.ndarray, plane: DisplayPlane, slice_index: int) -> np.ndarray:
    """Slice ``slice_index`` of a ``[k, j, i]`` array as a screen image ``[row, col]`` (a view, not a copy)."""
    index: list[int | slice] = [slice(None)] * 3
    index[_array_axis(plane.normal_axis)] = int(slice_index)
    return _orient(array[tuple(index)], plane)


def slab_slices(plane: DisplayPlane, slice_index: int, thickness_mm: float) -> range:
    """Slice indices within a slab of ``thickness_mm`` (mm, along the plane normal) centred on ``slice_index``."""
    half = round(0.5 * max(thickness_mm, 0.0) / max(plane.slice_spacing, 1e-6))
    return range(max(0, slice_index - half), min(plane.n_slices, slice_index + half + 1))


def maximum_intensity_projection(
    array: np.ndarray, plane: DisplayPlane, slice_index: int, thickness_mm: float
) -> np.ndarray:
    """Maximum over a slab of ``thickness_mm`` (mm) centred on ``slice_index``, as a screen image ``[row, col]``."""
    slices = slab_slices(plane, slice_index, thickness_mm)
    index: list[slice] = [slice(None)] * 3
    axis = _array_axis(plane.normal_axis)
    index[axis] = slice(slices.start, slices.stop)
    return _orient(array[tuple(index)].max(axis=axis), plane)
