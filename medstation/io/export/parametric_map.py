"""A saliency map as a DICOM Parametric Map: float32 values on the grid of the image it explains.

The map keeps the engine's values exactly (Float Pixel Data, a real-world value mapping of slope 1, intercept 0,
range 0..1, unitless, whose LUT Explanation says what the values are, ``"fraction of the map's peak"`` for a
saliency layer): a reader gets the numbers the heat map was drawn from, not a picture of them. It references
its source images frame by frame (Spatial Locations Preserved YES), and the source's frame of reference where
there is one. The Parametric Map IOD requires a frame of reference and plane geometry, which a radiograph has not:
such a map gets a frame of reference of its own with a nominal plane (the image's pixel size, else 1 mm), and
lies on its source image pixel for pixel, which is how a reader places it.
"""

from __future__ import annotations

import numpy as np

from medstation.io.export.equipment import SERIES_NUMBERS, copy_identity_status, equipment
from medstation.io.export.files import ExportError
from medstation.io.export.sources import SourceImages

LUT_LABEL = "SALIENCY"


def saliency_parametric_map(values: np.ndarray, source: SourceImages, description: str, meaning: str = ""):
    """The Parametric Map of ``values`` (``[k, j, i]`` over the source's slices, finite floats); ``meaning`` is what
    the values are (a layer's :attr:`~medstation.core.layers.OverlayLayer.meaning`), else ``description`` stands.

    Raises
    ------
    ExportError
        When the map's shape is not the source's ``(slices, rows, columns)`` or it holds NaN or infinity.
    """
    import highdicom as hd
    from pydicom.sr.codedict import codes

    values = np.asarray(values, dtype=np.float32)
    if values.ndim == 2:
        values = values[np.newaxis]
    shape = (source.n_slices, int(source.first.Rows), int(source.first.Columns))
    if values.shape != shape:
        raise ExportError(f"{source.paths[0]}: a saliency map of shape {values.shape} does not lie on its "
                          f"series' grid {shape}")
    if not np.isfinite(values).all():
        raise ExportError(f"{source.paths[0]}: the saliency map holds NaN or infinite values")
    low, high = float(values.min()), float(values.max())
    mapping = hd.pm.RealWorldValueMapping(
        lut_label=LUT_LABEL, lut_explanation=(meaning or description)[:64], unit=codes.UCUM.NoUnits,
        value_range=(min(low, 0.0), max(high, 1.0)), slope=1.0, intercept=0.0,
    )
    pm = hd.pm.ParametricMap(
        source_images=_placed_sources(source), pixel_array=values,
        series_instance_uid=hd.UID(), series_number=SERIES_NUMBERS["pm"], sop_instance_uid=hd.UID(),
        instance_number=1, contains_recognizable_visual_features=False, real_world_value_mappings=[mapping],
        voi_lut_transformations=[hd.VOILUTTransformation(window_center=0.5, window_width=1.0)],
        content_label=LUT_LABEL, content_description=description[:64],
        **equipment(),
    )
    pm.SeriesDescription = description[:64]
    pm.Laterality = source.first.get("Laterality", "")
    copy_identity_status(pm, source.first)
    return pm



def _placed_sources(source: SourceImages) -> list:
    """The source headers as the map is built from: as they are when they have a frame of reference; else copies
    given a frame of reference of the map's own and a nominal plane (the Parametric Map IOD requires both)."""
    from copy import deepcopy

    import highdicom as hd

    if source.frame_of_reference_uid:
        return source.datasets
    frame_of_reference = hd.UID()
    placed = []
    for k, dataset in enumerate(source.datasets):
        copy = deepcopy(dataset)
        spacing = dataset.get("PixelSpacing") or dataset.get("ImagerPixelSpacing") or [1.0, 1.0]
        copy.FrameOfReferenceUID = frame_of_reference
        copy.PositionReferenceIndicator = ""
        copy.PixelSpacing = [float(value) for value in spacing]
        copy.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        copy.ImagePositionPatient = [0.0, 0.0, float(k)]
        copy.SliceThickness = 1.0
        placed.append(copy)
    return placed
