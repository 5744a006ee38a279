"""TID 1500 content of a report: the classifier's result and the reader's measurements as highdicom templates.

A classification is a Measurements and Qualitative Evaluations group (TID 1501) on its image: one probability per
label, the decision threshold, the decision as a finding, the model named by algorithm identification (name,
version, weights sha256 as a parameter). A ruler is a planar ROI group (TID 1410) with a POLYLINE and its Length;
a rectangle or ellipse region one with a POLYGON or ELLIPSE and its mean, standard deviation, minimum, maximum
and area. Regions are SCOORD3D in the series' frame of reference where it has one, else SCOORD in the pixels of
the image they were drawn on. Concepts no standard code names (a class label, "probability of", the threshold)
use the private coding scheme :data:`SCHEME` with their meaning spelled out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from medstation.core.measurements import PIXELS, Measurement, Ruler
from medstation.io.export.files import ExportError
from medstation.io.export.results import ClassificationResult
from medstation.io.export.sources import SourceImages

SCHEME = "99MEDSTATION"


def private_code(value: str, meaning: str):
    from highdicom.sr import CodedConcept

    return CodedConcept(value[:16], SCHEME, meaning[:64])


def label_code(label: str):
    """The private code of a classifier label (its value is the label, shortened to fit)."""
    return private_code(label.upper().replace(" ", "_"), label)


def classification_group(result: ClassificationResult, source: SourceImages, number: int):
    """A TID 1501 group holding one image's classification."""
    from highdicom.sr import (
        AlgorithmIdentification,
        Measurement,
        MeasurementsAndQualitativeEvaluations,
        QualitativeEvaluation,
        TrackingIdentifier,
    )
    from pydicom.sr.codedict import codes

    model = result.model
    parameters = [f"weights sha256 {model.weights_sha256}"]
    if result.threshold is not None:
        parameters.append(f"threshold {result.threshold:.6g} on p({result.positive_label})")
    algorithm = AlgorithmIdentification(name=model.name, version=model.version or "unknown",
                                        parameters=parameters, family=codes.cid7162.ArtificialIntelligence)
    measurements = [
        Measurement(name=private_code(f"P_{label}".upper(), f"Probability of {label}"), value=float(p),
                    unit=codes.UCUM.NoUnits, algorithm_id=algorithm)
        for label, p in result.probabilities.items()
    ]
    if result.threshold is not None:
        name = private_code("THRESHOLD", f"Decision threshold on p({result.positive_label})")
        measurements.append(Measurement(name=name, value=float(result.threshold), unit=codes.UCUM.NoUnits,
                                        algorithm_id=algorithm))
    return MeasurementsAndQualitativeEvaluations(
        tracking_identifier=TrackingIdentifier(uid=_uid(), identifier=f"Classification {number} ({model.name})"),
        algorithm_id=algorithm,
        measurements=measurements,
        qualitative_evaluations=[QualitativeEvaluation(name=codes.DCM.Finding, value=label_code(result.prediction))],
        source_images=[_group_image(source, result.slice_index)],
    )


def measurement_group(measurement: Measurement, source: SourceImages, affine: np.ndarray, unit: str):
    """A TID 1410 group holding one ruler or region; ``unit`` is the UCUM code of the voxel values."""
    from highdicom.sr import CodedConcept, PlanarROIMeasurementsAndQualitativeEvaluations, TrackingIdentifier
    from highdicom.sr import Measurement as SRMeasurement
    from pydicom.sr.codedict import codes

    if measurement.unit == PIXELS:
        length_unit, area_unit = CodedConcept("{px}", "UCUM", "pixel"), CodedConcept("{px2}", "UCUM", "square pixel")
    else:
        length_unit, area_unit = codes.UCUM.Millimeter, codes.UCUM.SquareMillimeter
    if isinstance(measurement, Ruler):
        points = np.array([measurement.start, measurement.end], float)
        values = [SRMeasurement(name=codes.SCT.Length, value=measurement.length_mm, unit=length_unit)]
        graphic, kind = "POLYLINE", "Ruler"
    else:
        points = _region_points(measurement.shape, np.asarray(measurement.corners_lps, float))
        value_unit = CodedConcept(unit, "UCUM", _UNIT_MEANINGS.get(unit, unit))
        stats = measurement.statistics
        values = [
            SRMeasurement(name=name, value=float(value), unit=value_unit)
            for name, value in ((codes.SCT.Mean, stats.mean), (codes.SCT.StandardDeviation, stats.sd),
                                (codes.SCT.Minimum, stats.minimum), (codes.SCT.Maximum, stats.maximum))
            if np.isfinite(value)
        ]
        values.append(SRMeasurement(name=codes.SCT.Area, value=stats.area_mm2, unit=area_unit))
        graphic = "ELLIPSE" if measurement.shape == "ellipse" else "POLYGON"
        kind = measurement.shape.capitalize()
    return PlanarROIMeasurementsAndQualitativeEvaluations(
        tracking_identifier=TrackingIdentifier(uid=_uid(), identifier=f"{kind} {measurement.id}"),
        referenced_region=_region(graphic, points, source, affine, measurement.id),
        measurements=values,
    )


_UNIT_MEANINGS = {"[hnsf'U]": "Hounsfield unit", "1": "no units"}


def value_unit(modality: str) -> str:
    """The UCUM code of a series' voxel values: Hounsfield units for CT, else unitless."""
    return "[hnsf'U]" if modality == "CT" else "1"


def _region_points(shape: str, corners: np.ndarray) -> np.ndarray:
    """POLYGON (closed) of a rectangle's corners, or the ELLIPSE's major then minor axis end points."""
    if shape == "rectangle":
        return np.vstack([corners, corners[:1]])
    axis_a = np.array([(corners[0] + corners[1]) / 2, (corners[2] + corners[3]) / 2])
    axis_b = np.array([(corners[1] + corners[2]) / 2, (corners[3] + corners[0]) / 2])
    length = lambda axis: float(np.linalg.norm(axis[1] - axis[0]))  # noqa: E731
    major, minor = (axis_a, axis_b) if length(axis_a) >= length(axis_b) else (axis_b, axis_a)
    return np.vstack([major, minor])


def _region(graphic: str, points_lps: np.ndarray, source: SourceImages, affine: np.ndarray, number: int):
    from highdicom.sr import ImageRegion, ImageRegion3D, SourceImageForRegion

    if source.frame_of_reference_uid:
        return ImageRegion3D(graphic_type=graphic, graphic_data=points_lps,
                             frame_of_reference_uid=source.frame_of_reference_uid)
    voxels = (np.linalg.inv(affine) @ np.c_[points_lps, np.ones(len(points_lps))].T).T[:, :3]
    slices = np.unique(np.round(voxels[:, 2]).astype(int))
    if len(slices) != 1 or not 0 <= slices[0] < source.n_slices:
        raise ExportError(f"measurement {number} crosses slices of an image without patient coordinates; "
                          "a report can only place it on one image")
    k = int(slices[0])
    dataset = source.slice_dataset(k)
    frames = None if source.frames is None else [source.frames[k]]
    reference = SourceImageForRegion(str(dataset.SOPClassUID), str(dataset.SOPInstanceUID), frames)
    pixels = voxels[:, :2] + 0.5
    graphic = "POLYLINE" if graphic == "POLYGON" else graphic  # SCOORD has no POLYGON: a closed POLYLINE is one
    if graphic == "POLYLINE" and np.allclose(pixels[0], pixels[1]):
        raise ExportError(f"measurement {number} has no length; nothing to report")
    return ImageRegion(graphic_type=graphic, graphic_data=pixels, source_image=reference)


def _group_image(source: SourceImages, k: int):
    from highdicom.sr import SourceImageForMeasurementGroup

    dataset = source.slice_dataset(k)
    frames = None if source.frames is None else [source.frames[k]]
    return SourceImageForMeasurementGroup(str(dataset.SOPClassUID), str(dataset.SOPInstanceUID), frames)


def _uid() -> str:
    from highdicom import UID

    return str(UID())


def evidence(sources: Sequence[SourceImages]) -> list:
    """Every source header, once each (a multi-frame file appears once)."""
    seen, datasets = set(), []
    for source in sources:
        for dataset in source.datasets:
            if dataset.SOPInstanceUID not in seen:
                seen.add(dataset.SOPInstanceUID)
                datasets.append(dataset)
    return datasets
