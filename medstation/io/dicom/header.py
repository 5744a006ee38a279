"""Read one DICOM file's header into the per-image records that scanning and grouping need.

A file yields one :class:`FrameRecord` per 2-D image it holds: one for a classic single-frame file, one per
frame for an enhanced (multi-frame) file, and one for a Siemens mosaic (which tiles a whole volume into one
image). Positions and orientations are in DICOM patient coordinates (LPS, mm).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from medstation.errors import UnreadableInput
from medstation.io.dicom.lean_header import read_lean_header
from medstation.io.dicom.mosaic import MosaicLayout, mosaic_layout
from medstation.io.dicom.pixels import (
    DEFLATED,
    StoredPixels,
    expected_pixel_bytes,
    first_line,
    is_native_transfer_syntax,
    locate_stored_pixels,
    number_of_frames,
    pixel_data_extent,
)
from medstation.io.dicom.values import (
    ImpossibleValue,
    checked_orientation,
    checked_position,
    checked_rescale,
    checked_spacing,
    patient_orientation,
    slice_step,
)
from medstation.io.formats import file_kind

DICOMDIR_SOP_CLASS = "1.2.840.10008.1.3.10"
DETAIL_KEYWORDS = (
    "PatientSex", "PatientAge", "PatientBirthDate", "StudyTime", "BodyPartExamined", "ViewPosition",
    "ContrastBolusAgent", "KVP", "Exposure", "RepetitionTime", "EchoTime", "InversionTime", "FlipAngle",
    "MagneticFieldStrength", "SliceThickness",
)
"""Patient, study and acquisition attributes shown in the viewer's corners (as the first image of a series says)."""
_MAX_VOXELS_PER_FILE = 2**31
_MAX_COMPRESSION_RATIO = 2000
_NOMINAL_ORIENTATION = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
# Values larger than this are not loaded while scanning, only located (the pixel data, mostly).
_DEFER_BYTES = 4096
# ImageType / FrameType values that mean a different kind of pixel value (or a scout), so a separate volume.
_VALUE_KINDS = frozenset(
    {"M", "P", "R", "I", "MAGNITUDE", "PHASE", "REAL", "IMAGINARY", "FIELD_MAP", "LOCALIZER"}
)


@dataclass(frozen=True)
class SeriesIdentity:
    """Patient, study and series attributes shared by every image of a series."""

    patient_name: str
    patient_id: str
    study_uid: str
    study_description: str
    study_date: str
    series_uid: str
    series_number: int | None
    series_description: str
    modality: str
    frame_of_reference_uid: str = ""
    """FrameOfReferenceUID: series sharing it share patient coordinates (LPS)."""
    details: tuple[tuple[str, str], ...] = ()
    """Header text a reader sees beside the image, by keyword (:data:`DETAIL_KEYWORDS`), where present."""


@dataclass
class FrameRecord:
    """One 2-D image (or one mosaic) inside a DICOM file, with the geometry needed to place it.

    Attributes
    ----------
    path
        The file holding the image.
    frame
        Index of the frame in a multi-frame file, or None for a single-frame file.
    position
        LPS position (mm) of the centre of the first transmitted voxel.
    orientation
        Row and column direction cosines (6 numbers, LPS), as ImageOrientationPatient.
    pixel_spacing
        ``(row spacing, column spacing)`` in mm: the distance between rows (sj) and between columns (si);
        a nominal ``(1, 1)`` when ``spacing_known`` is False (no or an impossible PixelSpacing).
    header_warnings
        Header values that could not be used (an impossible plane or pixel size), said in words.
    patient_orientation
        PatientOrientation: the patient directions of the rows and of the columns (e.g. ``("A", "F")``), or None.
    """

    path: Path
    frame: int | None
    rows: int
    columns: int
    samples: int
    position: np.ndarray
    orientation: tuple[float, ...]
    pixel_spacing: tuple[float, float]
    rescale_slope: float
    rescale_intercept: float
    photometric: str
    image_type: str  # the value-kind part of ImageType, e.g. "M" or "FIELD_MAP"
    echo: float | None
    instance_number: int
    acquisition_number: int
    temporal_index: int
    has_geometry: bool
    gantry_tilt: float
    slice_thickness: float
    window_presets: list[tuple[float, float, str]] = field(default_factory=list)
    patient_orientation: tuple[str, str] | None = None
    mosaic: MosaicLayout | None = None
    stored_pixels: StoredPixels | None = None
    spacing_known: bool = True
    header_warnings: tuple[str, ...] = ()


def read_file_records(path: Path) -> tuple[SeriesIdentity, list[FrameRecord]] | None:
    """Read the header of ``path`` (pixel data is not loaded).

    Returns
    -------
    The series identity and the image records, or None for a DICOMDIR (an index, no images).

    Raises
    ------
    UnreadableInput
        When the file is not DICOM, is damaged, holds no image, or its pixel size is impossible.
    """
    lean = read_lean_header(path)
    if lean is not None:
        try:
            return _records(path, lean)
        except Exception:  # pydicom reads the file again and gives the precise reason
            pass
    with warnings.catch_warnings():
        # pydicom warns about odd values as it converts them lazily; damaged values surface as errors below.
        warnings.simplefilter("ignore")
        dataset = _read_header(path)
        try:
            return _records(path, dataset)
        except UnreadableInput:
            raise
        except ImpossibleValue as error:
            raise UnreadableInput(f"{path}: impossible value in the header: {error}") from error
        except Exception as error:
            raise UnreadableInput(f"{path}: damaged DICOM header ({first_line(error)})") from error


def _records(path: Path, dataset) -> tuple[SeriesIdentity, list[FrameRecord]] | None:
    """Records of a pydicom Dataset or a :class:`LeanDataset` (both are read the same way)."""
    if _sop_class(dataset) == DICOMDIR_SOP_CLASS:
        return None
    if "Rows" not in dataset or "Columns" not in dataset:
        raise UnreadableInput(f"{path}: DICOM without an image (no Rows/Columns)")
    _check_pixel_data(path, dataset)
    return _series_identity(dataset), _frame_records(path, dataset)


def _read_header(path: Path):
    from pydicom import dcmread
    from pydicom.errors import InvalidDicomError

    try:
        return dcmread(path, defer_size=_DEFER_BYTES)
    except InvalidDicomError:
        return _read_without_preamble(path)
    except Exception as error:
        raise UnreadableInput(f"{path}: damaged DICOM header ({first_line(error)})") from error


def _read_without_preamble(path: Path):
    """Accept a DICOM stream without the 128-byte preamble only when it clearly holds an image."""
    from pydicom import dcmread

    try:
        dataset = dcmread(path, defer_size=_DEFER_BYTES, force=True)
        looks_like_image = "SOPClassUID" in dataset and "Rows" in dataset
    except Exception as error:
        raise UnreadableInput(f"{path}: not a DICOM file ({_kind_or(path, first_line(error))})") from error
    if not looks_like_image:
        raise UnreadableInput(f"{path}: not a DICOM file ({_kind_or(path, 'no DICM prefix and no image attributes')})")
    return dataset


def _kind_or(path: Path, reason: str) -> str:
    """What the file is, when its first bytes tell (``"it is a PNG picture"``), else ``reason``."""
    kind = file_kind(path)
    return f"it is {kind}" if kind is not None and kind != "a DICOM file" else reason



def _sop_class(dataset) -> str:
    meta = getattr(dataset, "file_meta", None)
    media_class = str(meta.get("MediaStorageSOPClassUID", "")) if meta is not None else ""
    return media_class or str(dataset.get("SOPClassUID", ""))


def _check_pixel_data(path: Path, dataset) -> None:
    """Refuse missing or truncated pixel data and impossible image sizes, before anything is allocated."""
    if "PixelData" not in dataset:
        raise UnreadableInput(f"{path}: the file has no pixel data")
    voxels = int(dataset.Rows) * int(dataset.Columns) * number_of_frames(dataset)
    voxels *= int(dataset.get("SamplesPerPixel", 1) or 1)
    if voxels <= 0:
        raise UnreadableInput(f"{path}: empty image ({dataset.Rows} x {dataset.Columns})")
    if voxels > _MAX_VOXELS_PER_FILE:
        raise UnreadableInput(f"{path}: implausible image size of {voxels} samples")
    file_size = path.stat().st_size
    transfer_syntax = str(dataset.file_meta.get("TransferSyntaxUID", "1.2.840.10008.1.2"))
    if is_native_transfer_syntax(transfer_syntax):
        needed = expected_pixel_bytes(dataset)
        offset, length = pixel_data_extent(dataset.get_item("PixelData"))
        offset = offset or 0
        # A deflated file's offsets are in the inflated stream, not in the file.
        beyond_file = transfer_syntax != DEFLATED and offset + length > file_size
        if length < needed or beyond_file:
            available = min(length, max(0, file_size - offset))
            raise UnreadableInput(
                f"{path}: truncated pixel data: {available} bytes present, {needed} expected for "
                f"{dataset.Rows} x {dataset.Columns} x {number_of_frames(dataset)} frames"
            )
    elif voxels > file_size * _MAX_COMPRESSION_RATIO:
        raise UnreadableInput(f"{path}: implausible image size for a {file_size}-byte compressed file")


def _slice_thickness(dataset) -> float:
    """SpacingBetweenSlices, else SliceThickness, in mm (0 when neither gives a positive number)."""
    return slice_step(dataset.get("SpacingBetweenSlices")) or slice_step(dataset.get("SliceThickness"))


def _text(dataset, keyword: str) -> str:
    value = dataset.get(keyword, "")
    return "" if value is None else str(value).strip()


def _integer(dataset, keyword: str, default: int | None = 0) -> int | None:
    value = dataset.get(keyword, None)
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _series_identity(dataset) -> SeriesIdentity:
    return SeriesIdentity(
        patient_name=_text(dataset, "PatientName"),
        patient_id=_text(dataset, "PatientID"),
        study_uid=_text(dataset, "StudyInstanceUID"),
        study_description=_text(dataset, "StudyDescription"),
        study_date=_text(dataset, "StudyDate"),
        series_uid=_text(dataset, "SeriesInstanceUID"),
        series_number=_integer(dataset, "SeriesNumber", None),
        series_description=_text(dataset, "SeriesDescription") or _text(dataset, "ProtocolName"),
        modality=_text(dataset, "Modality"),
        frame_of_reference_uid=_text(dataset, "FrameOfReferenceUID"),
        details=tuple((keyword, text) for keyword in DETAIL_KEYWORDS if (text := _text(dataset, keyword))),
    )


def _window_presets(dataset) -> list[tuple[float, float, str]]:
    """``(center, width, name)`` display windows of a header or of a FrameVOILUTSequence item.

    A window is only a display hint: one that is not a pair of finite numbers with a positive width is left out
    rather than making the image unreadable.
    """
    try:
        centers, widths = dataset.get("WindowCenter"), dataset.get("WindowWidth")
    except ValueError:
        return []
    if centers is None or widths is None:
        return []
    centers = list(centers) if _is_multi(centers) else [centers]
    widths = list(widths) if _is_multi(widths) else [widths]
    names = dataset.get("WindowCenterWidthExplanation", [])
    names = list(names) if _is_multi(names) else [names]
    presets = []
    for index, (center, width) in enumerate(zip(centers, widths, strict=False)):
        try:
            center, width = float(center), float(width)
        except (TypeError, ValueError):
            continue
        if math.isfinite(center) and math.isfinite(width) and width > 0:
            presets.append((center, width, str(names[index]) if index < len(names) else ""))
    return presets


def _is_multi(value) -> bool:
    return isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue"


def _functional_item(dataset, frame: int, sequence: str):
    """The first item of a functional-group ``sequence`` for ``frame`` (per-frame first, then shared)."""
    per_frame = dataset.get("PerFrameFunctionalGroupsSequence")
    if per_frame is not None and frame < len(per_frame):
        group = per_frame[frame]
        if sequence in group and len(group[sequence].value):
            return group[sequence].value[0]
    shared = dataset.get("SharedFunctionalGroupsSequence")
    if shared is not None and len(shared):
        group = shared[0]
        if sequence in group and len(group[sequence].value):
            return group[sequence].value[0]
    return None


def _frame_records(path: Path, dataset) -> list[FrameRecord]:
    common = {
        "path": path,
        "rows": int(dataset.Rows),
        "columns": int(dataset.Columns),
        "samples": int(dataset.get("SamplesPerPixel", 1) or 1),
        "photometric": _text(dataset, "PhotometricInterpretation") or "MONOCHROME2",
        "instance_number": _integer(dataset, "InstanceNumber"),
        "acquisition_number": _integer(dataset, "AcquisitionNumber"),
        "gantry_tilt": float(dataset.get("GantryDetectorTilt", 0) or 0),
        "slice_thickness": _slice_thickness(dataset),
        "window_presets": _window_presets(dataset),
        "patient_orientation": patient_orientation(dataset.get("PatientOrientation")),
        "stored_pixels": locate_stored_pixels(dataset, dataset.get_item("PixelData")),
    }
    if "PerFrameFunctionalGroupsSequence" in dataset:
        return [_enhanced_frame(dataset, frame, common) for frame in range(number_of_frames(dataset))]
    geometry = _classic_geometry(dataset)
    scalar = {
        **common,
        **geometry,
        "rescale_slope": checked_rescale(dataset.get("RescaleSlope"), "RescaleSlope", 1.0),
        "rescale_intercept": checked_rescale(dataset.get("RescaleIntercept"), "RescaleIntercept", 0.0),
        "image_type": _value_kind(dataset.get("ImageType")),
        "echo": _echo_of_classic(dataset),
        "temporal_index": _integer(dataset, "TemporalPositionIdentifier"),
    }
    layout = mosaic_layout(dataset)
    if layout is not None:
        if geometry["header_warnings"] or not np.all(np.isfinite(layout.affine)):
            # A mosaic's slices are cut and placed by its plane and pixel size: without them there is nothing to show.
            reason = geometry["header_warnings"][0] if geometry["header_warnings"] else "its affine is not finite"
            raise ImpossibleValue(f"mosaic without a usable plane or pixel size ({reason})")
        return [FrameRecord(frame=None, mosaic=layout, **scalar)]
    frames = number_of_frames(dataset)
    if frames == 1:
        return [FrameRecord(frame=None, **scalar)]
    return _classic_multiframe(dataset, scalar, frames)


def _classic_geometry(dataset) -> dict:
    """Plane and pixel size of a classic header; impossible values leave them unknown, with a warning."""
    return _combined(*_top_level_plane_and_size(dataset))


def _top_level_plane_and_size(dataset) -> tuple[dict, dict]:
    keyword = "PixelSpacing" if dataset.get("PixelSpacing") else "ImagerPixelSpacing"
    plane = _plane(dataset.get("ImagePositionPatient"), dataset.get("ImageOrientationPatient"))
    return plane, _pixel_size(dataset.get(keyword), keyword)


def _combined(plane: dict, pixel_size: dict) -> dict:
    """One geometry from a plane and a pixel size, keeping the warnings of both."""
    warnings = (*plane.get("header_warnings", ()), *pixel_size.get("header_warnings", ()))
    return {**plane, **pixel_size, "header_warnings": warnings}


def _plane(position, orientation) -> dict:
    """Position and orientation of an image plane, or a nominal plane when they are absent or impossible."""
    nominal = {"position": np.zeros(3), "orientation": _NOMINAL_ORIENTATION, "has_geometry": False}
    if position is None or orientation is None:
        return nominal
    try:
        return {"position": checked_position(position), "orientation": checked_orientation(orientation),
                "has_geometry": True}
    except (ImpossibleValue, TypeError, ValueError) as error:
        return {**nominal, "header_warnings": (f"{error}: the image has no usable position in the patient",)}


def _pixel_size(values, keyword: str) -> dict:
    """``pixel_spacing`` in mm, or a nominal 1 x 1 with ``spacing_known`` False (distances then in pixels)."""
    if not values:
        return {"pixel_spacing": (1.0, 1.0), "spacing_known": False}
    try:
        return {"pixel_spacing": checked_spacing(values, keyword), "spacing_known": True}
    except (ImpossibleValue, TypeError, ValueError) as error:
        return {"pixel_spacing": (1.0, 1.0), "spacing_known": False,
                "header_warnings": (f"{error}: pixel size unknown, distances are measured in pixels",)}


def _value_kind(image_type) -> str:
    """The ImageType values that decide what a pixel value means (magnitude, phase, field map, scout)."""
    values = list(image_type) if _is_multi(image_type) else [image_type] if image_type else []
    return "\\".join(str(value).upper() for value in values if str(value).upper() in _VALUE_KINDS)


def _echo_of_classic(dataset) -> float | None:
    echo_numbers = dataset.get("EchoNumbers")
    if echo_numbers not in (None, ""):
        return float(echo_numbers[0] if _is_multi(echo_numbers) else echo_numbers)
    echo_time = dataset.get("EchoTime")
    return float(echo_time) if echo_time not in (None, "") else None


def _classic_multiframe(dataset, scalar: dict, frames: int) -> list[FrameRecord]:
    """Frames of a classic multi-frame file: along GridFrameOffsetVector if present, else all at one place."""
    offsets = dataset.get("GridFrameOffsetVector")
    row, column = np.array(scalar["orientation"][:3]), np.array(scalar["orientation"][3:])
    normal = np.cross(row, column)
    records = []
    for frame in range(frames):
        offset = float(offsets[frame]) if offsets is not None and frame < len(offsets) else 0.0
        record = FrameRecord(frame=frame, **{**scalar, "position": scalar["position"] + offset * normal})
        record.temporal_index = frame if offsets is None else scalar["temporal_index"]
        records.append(record)
    return records


def _enhanced_frame(dataset, frame: int, common: dict) -> FrameRecord:
    position_item = _functional_item(dataset, frame, "PlanePositionSequence")
    orientation_item = _functional_item(dataset, frame, "PlaneOrientationSequence")
    measures = _functional_item(dataset, frame, "PixelMeasuresSequence")
    rescale = _functional_item(dataset, frame, "PixelValueTransformationSequence")
    echo = _functional_item(dataset, frame, "MREchoSequence")
    content = _functional_item(dataset, frame, "FrameContentSequence")
    frame_type = (
        _functional_item(dataset, frame, "MRImageFrameTypeSequence")
        or _functional_item(dataset, frame, "CTImageFrameTypeSequence")
    )
    plane, pixel_size = _top_level_plane_and_size(dataset)
    if position_item is not None and orientation_item is not None:
        plane = _plane(position_item.get("ImagePositionPatient"), orientation_item.get("ImageOrientationPatient"))
    thickness = common["slice_thickness"]
    if measures is not None:
        if "PixelSpacing" in measures:
            pixel_size = _pixel_size(measures.PixelSpacing, "PixelSpacing")
        thickness = _slice_thickness(measures) or thickness
    geometry = _combined(plane, pixel_size)
    window = _functional_item(dataset, frame, "FrameVOILUTSequence")
    rescale_source = rescale if rescale is not None else dataset
    echo_time = echo.get("EffectiveEchoTime") if echo is not None else None
    temporal = content.get("TemporalPositionIndex") if content is not None else None
    return FrameRecord(
        frame=frame,
        **{
            **common,
            "slice_thickness": thickness,
            "window_presets": common["window_presets"] or (_window_presets(window) if window else []),
        },
        **geometry,
        rescale_slope=checked_rescale(rescale_source.get("RescaleSlope"), "RescaleSlope", 1.0),
        rescale_intercept=checked_rescale(rescale_source.get("RescaleIntercept"), "RescaleIntercept", 0.0),
        image_type=_value_kind(frame_type.get("FrameType") if frame_type else None),
        echo=float(echo_time) if echo_time not in (None, "") and math.isfinite(float(echo_time)) else None,
        temporal_index=int(temporal) if temporal not in (None, "") else 0,
    )
