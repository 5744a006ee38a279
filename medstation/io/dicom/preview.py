"""One slice of a scanned series, read alone: something to show while the whole volume loads.

Only the file holding the slice is read. The slice comes as a one-slice :class:`Volume` (``[1, j, i]``, or
``[1, j, i, rgb]``) whose affine places it where it lies in the full volume, so it can be displayed with the
same geometry. Its voxels are rescaled like the full volume's; the type is chosen for this slice alone, so it
may be int16 where the full volume, with a wider range elsewhere, is float32.
"""

from __future__ import annotations

import numpy as np

from medstation.core.volume import Volume
from medstation.io.dicom.geometry import arrange_frames
from medstation.io.dicom.mosaic import untile_mosaic
from medstation.io.dicom.pixels import read_pixel_frames
from medstation.io.dicom.rescale import rescale_frames
from medstation.io.dicom.scan import SeriesRecord
from medstation.io.dicom.series import volume_info


def load_slice(series: SeriesRecord, k: int | None = None) -> Volume:
    """Slice ``k`` (the middle one by default) of the first volume of ``series``.

    Raises
    ------
    IndexError
        When ``k`` is outside the series' slices.
    UnreadableInput
        When the file holding the slice is damaged.
    """
    layout = arrange_frames(series.frames)
    first = layout.frames[0][0]
    n_slices = first.mosaic.n_slices if first.mosaic is not None else len(layout.frames[0])
    k = n_slices // 2 if k is None else k
    if not 0 <= k < n_slices:
        raise IndexError(f"slice {k} is outside the series' {n_slices} slices")
    frame = first if first.mosaic is not None else layout.frames[0][k]
    image = read_pixel_frames(frame.path, frame.stored_pixels)[frame.frame or 0]
    if frame.mosaic is not None:
        image = untile_mosaic(image, frame.mosaic)[k]
    is_rgb = frame.samples > 1
    voxels = image[np.newaxis]
    if not is_rgb:
        voxels = rescale_frames(voxels, np.array([frame.rescale_slope]), np.array([frame.rescale_intercept]))
    affine = layout.affine.copy()
    if layout.slice_positions is not None:
        affine[:3, 3] = layout.slice_positions[k]
    else:
        affine[:3, 3] += k * affine[:3, 2]
    warnings = [*series.warnings, *layout.warnings]
    return Volume(array=voxels, affine=affine, info=volume_info(series), warnings=warnings, is_rgb=is_rgb,
                  has_patient_geometry=layout.has_geometry, spacing_known=layout.spacing_known)
