"""Open what MedStation exported: a Structured Report as lines of text, a SEG or Parametric Map as overlay layers.

A SEG or Parametric Map is placed on its source volume frame by frame through the source images each frame names
(its Derivation Image Sequence), not through geometry, so it lands on the right slice also for images without
patient coordinates. A SEG becomes one label layer (label ``n`` is segment ``n``), a Parametric Map one heat layer
of its real-world values, whose colour legend says what they are: the mapping's LUT Explanation (``"fraction of
the map's peak"`` for MedStation's saliency maps) where it is more than the map's name, else its LUT Label, with
the unit where there is one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medstation.core.layers import SALIENCY_THRESHOLD, OverlayLayer
from medstation.core.volume import Volume
from medstation.errors import UnreadableInput

SEGMENTATION = "1.2.840.10008.5.1.4.1.1.66.4"
PARAMETRIC_MAP = "1.2.840.10008.5.1.4.1.1.30"
SR_CLASSES = {"1.2.840.10008.5.1.4.1.1.88.34": "Comprehensive 3D SR", "1.2.840.10008.5.1.4.1.1.88.33":
              "Comprehensive SR", "1.2.840.10008.5.1.4.1.1.88.22": "Enhanced SR", "1.2.840.10008.5.1.4.1.1.88.11":
              "Basic Text SR", "1.2.840.10008.5.1.4.1.1.88.59": "Key Object Selection"}


def _read(path: str | os.PathLike, stop_before_pixels: bool = False):
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        return pydicom.dcmread(path, stop_before_pixels=stop_before_pixels)
    except (OSError, InvalidDicomError, ValueError) as error:
        raise UnreadableInput(f"{path}: not a readable DICOM file ({error})") from error


@dataclass(frozen=True)
class ExportedObject:
    """What a file is among the objects opened here: ``kind`` ``"report"`` (SR or KOS), ``"segmentation"`` or
    ``"parametric map"``; the series it was made from and its frame of reference (for placing a layer)."""

    kind: str
    source_series: frozenset[str] = frozenset()
    frame_of_reference_uid: str = ""


def exported_object(path: str | os.PathLike) -> ExportedObject | None:
    """What ``path`` is (see :class:`ExportedObject`); None for anything else: an image, or not DICOM at all (the
    image opener then says what it is)."""
    try:
        dataset = _read(path, stop_before_pixels=True)
    except UnreadableInput:
        return None
    sop_class = str(dataset.get("SOPClassUID", ""))
    kinds = {SEGMENTATION: "segmentation", PARAMETRIC_MAP: "parametric map", **dict.fromkeys(SR_CLASSES, "report")}
    if sop_class not in kinds:
        return None
    series = frozenset(str(item.SeriesInstanceUID) for item in dataset.get("ReferencedSeriesSequence", [])
                       if "SeriesInstanceUID" in item)
    return ExportedObject(kinds[sop_class], series, str(dataset.get("FrameOfReferenceUID", "") or ""))


def is_structured_report(path: str | os.PathLike) -> bool:
    """True when ``path`` is a DICOM SR or Key Object Selection document."""
    return str(_read(path, stop_before_pixels=True).get("SOPClassUID", "")) in SR_CLASSES


def sr_lines(path: str | os.PathLike) -> list[str]:
    """The content tree of an SR or KOS document as indented lines: ``concept: value [unit]``.

    Raises
    ------
    UnreadableInput
        When ``path`` is not a DICOM SR document.
    """
    dataset = _read(path, stop_before_pixels=True)
    if str(dataset.get("SOPClassUID", "")) not in SR_CLASSES:
        raise UnreadableInput(f"{path}: not a DICOM structured report (SOP class {dataset.get('SOPClassUID', '?')})")
    lines = [f"{_meaning(dataset)}  ({SR_CLASSES[str(dataset.SOPClassUID)]}, {dataset.get('ContentDate', '')})"]
    _walk(dataset.get("ContentSequence", []), 1, lines)
    return lines


def _meaning(item) -> str:
    names = item.get("ConceptNameCodeSequence")
    return str(names[0].CodeMeaning) if names else ""


def _value(item) -> str:
    kind = str(item.get("ValueType", ""))
    if kind == "TEXT":
        return str(item.TextValue)
    if kind == "CODE":
        return str(item.ConceptCodeSequence[0].CodeMeaning)
    if kind == "NUM":
        measured = item.get("MeasuredValueSequence")
        if not measured:
            return "(no value)"
        unit = measured[0].MeasurementUnitsCodeSequence[0]
        shown = str(unit.CodeValue) if unit.CodeValue not in ("1",) else ""
        return f"{float(measured[0].NumericValue):.6g} {shown}".strip()
    if kind in ("SCOORD", "SCOORD3D"):
        return f"{item.GraphicType}, {len(item.GraphicData) // (2 if kind == 'SCOORD' else 3)} points"
    if kind == "IMAGE":
        return f"image {item.ReferencedSOPSequence[0].ReferencedSOPInstanceUID}"
    if kind == "UIDREF":
        return str(item.UID)
    if kind == "PNAME":
        return str(item.PersonName)
    if kind in ("DATE", "TIME", "DATETIME"):
        return str(item.get(kind.capitalize(), "") or item.get("DateTime", ""))
    return ""


def _walk(items, depth: int, lines: list[str]) -> None:
    for item in items:
        value = _value(item)
        lines.append("  " * depth + (f"{_meaning(item)}: {value}" if value else _meaning(item)))
        _walk(item.get("ContentSequence", []), depth + 1, lines)


def derived_layer(path: str | os.PathLike, volume: Volume, instance_uids: list[str],
                  frames: list[int] | None = None) -> OverlayLayer:
    """A SEG (label layer) or Parametric Map (heat layer) on ``volume``, whose slice ``k`` is the image
    ``instance_uids[k]`` (frame ``frames[k]`` of a multi-frame source).

    Raises
    ------
    UnreadableInput
        When ``path`` is neither, was made from another series, or names images the volume does not hold.
    """
    dataset = _read(path)
    sop_class = str(dataset.get("SOPClassUID", ""))
    if sop_class not in (SEGMENTATION, PARAMETRIC_MAP):
        raise UnreadableInput(f"{path}: not a DICOM Segmentation or Parametric Map")
    referenced = {str(item.SeriesInstanceUID) for item in dataset.get("ReferencedSeriesSequence", [])}
    if volume.info.series_uid and referenced and volume.info.series_uid not in referenced:
        raise UnreadableInput(f"{path}: made from another series ({', '.join(sorted(referenced))}), not the open one")
    places = {(uid, None if frames is None else frames[k]): k for k, uid in enumerate(instance_uids)}
    pixels = np.asarray(dataset.pixel_array)
    pixels = pixels.reshape(-1, *pixels.shape[-2:])
    shape = volume.spatial_shape
    is_seg = sop_class == SEGMENTATION
    data = np.zeros(shape, dtype=np.uint16 if is_seg else np.float32)
    slope, intercept = (1.0, 0.0) if is_seg else _value_mapping(dataset)
    shared = dataset.SharedFunctionalGroupsSequence[0]
    for index, item in enumerate(dataset.PerFrameFunctionalGroupsSequence):
        k = _source_slice(item, places, Path(path))
        if pixels.shape[1:] != shape[1:]:
            raise UnreadableInput(f"{path}: frames of {pixels.shape[1:]} pixels on images of {shape[1:]}")
        if is_seg:
            identification = item.get("SegmentIdentificationSequence") or shared.get("SegmentIdentificationSequence")
            segment = int(identification[0].ReferencedSegmentNumber)
            data[k][pixels[index] > 0] = segment
        else:
            data[k] = pixels[index] * slope + intercept
    name = str(dataset.get("SeriesDescription", "") or dataset.get("ContentDescription", "") or Path(path).stem)
    if is_seg:
        return OverlayLayer(name, data, kind="label", opacity=0.4)
    low, high = float(data.min()), float(data.max())
    return OverlayLayer(name, data, kind="heat", opacity=0.5, low=min(low, 0.0), high=max(high, 1e-6),
                        threshold=SALIENCY_THRESHOLD * max(high, 1e-6), meaning=_value_meaning(dataset, name))


def _value_meaning(dataset, name: str) -> str:
    """What a Parametric Map's values are, from its first real-world value mapping (see the module's description)."""
    groups = dataset.get("SharedFunctionalGroupsSequence")
    mappings = groups[0].get("RealWorldValueMappingSequence") if groups else None
    if not mappings:
        return "values as stored"
    mapping = mappings[0]
    explanation = str(mapping.get("LUTExplanation", "") or "").strip()
    label = str(mapping.get("LUTLabel", "") or "").strip()
    names = {name, str(dataset.get("ContentDescription", "") or "")}
    what = explanation if explanation and explanation not in names else (f"{label.lower()} values" if label
                                                                           else "real-world values")
    units = mapping.get("MeasurementUnitsCodeSequence")
    unit = units[0] if units else None
    if unit is not None and str(unit.get("CodeValue", "")) not in ("", "1"):
        what += f" ({unit.get('CodeMeaning', '') or unit.CodeValue})"
    return what


def _value_mapping(dataset) -> tuple[float, float]:
    """Slope and intercept of the map's first real-world value mapping."""
    groups = dataset.get("SharedFunctionalGroupsSequence")
    mapping = groups[0].get("RealWorldValueMappingSequence") if groups else None
    if not mapping:
        return 1.0, 0.0
    return float(mapping[0].get("RealWorldValueSlope", 1.0)), float(mapping[0].get("RealWorldValueIntercept", 0.0))


def _source_slice(item, places: dict, path: Path) -> int:
    derivation = item.get("DerivationImageSequence")
    sources = derivation[0].get("SourceImageSequence") if derivation else None
    if not sources:
        raise UnreadableInput(f"{path}: a frame does not name its source image, so it cannot be placed")
    source = sources[0]
    frame = int(source.ReferencedFrameNumber) if "ReferencedFrameNumber" in source else None
    key = (str(source.ReferencedSOPInstanceUID), frame)
    if key not in places and (key[0], None) in places:
        key = (key[0], None)
    if key not in places:
        raise UnreadableInput(f"{path}: names the image {key[0]}, which the open series does not hold")
    return places[key]
