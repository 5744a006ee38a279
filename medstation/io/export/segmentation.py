"""Overlay layers as a DICOM Segmentation: a label map's labels, or a heat map above its threshold, as segments.

A label layer gives one segment per positive label (numbered 1, 2, ... in label order, each labelled with the
layer's name and its value); a heat layer (a saliency map) one segment of the voxels at or above its threshold.
Binary segments on the source's grid, referencing its images frame by frame and its frame of reference where it
has one. What a segment shows has no standard code, so its category and type use the private coding scheme of
:mod:`medstation.io.export.sr_content`, with the meaning spelled out.
"""

from __future__ import annotations

import numpy as np

from medstation.core.layers import OverlayLayer
from medstation.io.export.equipment import SERIES_NUMBERS, copy_identity_status, copy_image_orientation, equipment
from medstation.io.export.files import ExportError
from medstation.io.export.sources import SourceImages


def layer_segments(layer: OverlayLayer) -> tuple[np.ndarray, list[str]]:
    """``(label map [k, j, i] of segment numbers 1..N, 0 outside, segment labels)`` of a layer."""
    data = np.asarray(layer.data)
    if layer.kind == "label":
        values = [int(v) for v in np.unique(data) if v > 0]
        labels = np.zeros(data.shape, dtype=np.uint16)
        for number, value in enumerate(values, start=1):
            labels[data == value] = number
        return labels, [f"{layer.name} {value}" for value in values]
    threshold = layer.threshold if layer.threshold is not None else float(np.nanmax(data)) / 2
    mask = np.nan_to_num(data, nan=-np.inf) >= threshold
    return mask.astype(np.uint16), [f"{layer.name} >= {threshold:.3g}"]


def layer_segmentation(layer: OverlayLayer, source: SourceImages, algorithm: tuple[str, str] | None = None):
    """The Segmentation of ``layer`` (aligned ``[k, j, i]`` with the source's slices).

    ``algorithm`` ``(name, version)`` marks the segments as made automatically by it (a saliency map's model);
    without it they are marked manual.

    Raises
    ------
    ExportError
        When the layer is empty (nothing at or above its threshold, no positive label) or not on the source's grid.
    """
    import highdicom as hd
    from highdicom.sr import CodedConcept
    from pydicom.sr.codedict import codes

    labels, names = layer_segments(layer)
    shape = (source.n_slices, int(source.first.Rows), int(source.first.Columns))
    if labels.shape != shape:
        raise ExportError(f"{source.paths[0]}: the layer {layer.name!r} of shape {labels.shape} does not lie on "
                          f"its series' grid {shape}")
    if not names or not labels.any():
        raise ExportError(f"the layer {layer.name!r} has no voxel to segment (nothing at or above its threshold)")
    identification = None
    if algorithm is not None:
        identification = hd.AlgorithmIdentificationSequence(name=algorithm[0], version=algorithm[1] or "unknown",
                                                            family=codes.cid7162.ArtificialIntelligence)
    category = CodedConcept("REGION", "99MEDSTATION", "Region shown by an overlay layer")
    descriptions = [
        hd.seg.SegmentDescription(
            segment_number=number, segment_label=name[:64], segmented_property_category=category,
            segmented_property_type=CodedConcept(f"LAYER{number}", "99MEDSTATION", name[:64]),
            algorithm_type="AUTOMATIC" if identification is not None else "MANUAL",
            algorithm_identification=identification,
        )
        for number, name in enumerate(names, start=1)
    ]
    seg = hd.seg.Segmentation(
        source_images=source.datasets, pixel_array=labels, segmentation_type="BINARY",
        segment_descriptions=descriptions, series_instance_uid=hd.UID(), series_number=SERIES_NUMBERS["seg"],
        sop_instance_uid=hd.UID(), instance_number=1, content_label="LAYER",
        content_description=layer.name[:64], **equipment(),
    )
    seg.SeriesDescription = f"Segmentation: {layer.name}"[:64]
    copy_identity_status(seg, source.first)
    copy_image_orientation(seg, source.first)
    return seg
