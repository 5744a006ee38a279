"""DICOM series to :class:`~medstation.core.volume.Volume`: scan, pick, load and describe.

Public API
----------
scan_dicom(path, progress, cancel) -> ScanResult
    Series found under a folder, DICOMDIR or file, and the skipped files with reasons.
largest_series(scan) -> SeriesRecord
    The image series with the most voxels.
load_series(series, progress, cancel) -> Volume
    Decode one series into voxels ``[k, j, i]`` or ``[t, k, j, i]`` with its LPS affine.
load_dicom(path, progress, cancel) -> Volume
    Scan ``path`` and load its largest series.
describe_series(series, volume=None) -> dict
    JSON-able summary: identity, shape, spacing (mm), orientation code, warnings.
volume_info(series) -> VolumeInfo
    Patient, study, series and display windows of a scanned series.
"""

from __future__ import annotations

import os
import threading
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from medstation.core.volume import Volume, VolumeInfo, WindowPreset, affine_spacing, orientation_code
from medstation.errors import GeometryError, UnreadableInput
from medstation.io.dicom.geometry import StackLayout, arrange_frames, tilt_angle_degrees
from medstation.io.dicom.header import FrameRecord
from medstation.io.dicom.mosaic import untile_mosaic
from medstation.io.dicom.pixels import native_dtype, read_pixel_frames, read_stored_into
from medstation.io.dicom.rescale import rescale_frames
from medstation.io.dicom.scan import ScanResult, SeriesRecord, scan_dicom
from medstation.progress import ProgressCallback, check_cancelled, report

__all__ = ["ScanResult", "SeriesRecord", "describe_series", "largest_series", "load_dicom", "load_series",
           "scan_dicom", "volume_info"]


def largest_series(scan: ScanResult, source: str = "") -> SeriesRecord:
    """The series with the most voxels (ties: the first in scan order) of the scan of ``source``.

    Raises
    ------
    UnreadableInput
        When the scan found no image series.
    """
    if not scan.series:
        reasons = "; ".join(reason for _, reason in scan.skipped[:3])
        where = f"{source}: " if source else ""
        raise UnreadableInput(f"{where}no DICOM image series found{': ' + reasons if reasons else ''}")
    return max(scan.series, key=lambda record: record.n_voxels)


def load_dicom(
    path: str | os.PathLike,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> Volume:
    """Scan ``path`` (folder, DICOMDIR or file) and load its largest image series."""
    scan = scan_dicom(path, progress=lambda f, m: report(progress, 0.3 * f, m), cancel=cancel)
    return load_series(largest_series(scan, str(path)), progress=lambda f, m: report(progress, 0.3 + 0.7 * f, m),
                       cancel=cancel)


def load_series(
    series: SeriesRecord,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> Volume:
    """Decode a scanned series into a Volume (voxels ``[k, j, i]`` or ``[t, k, j, i]``, LPS affine).

    The modality rescale is applied once (int16 where an integer rescale fits, else float32).
    RGB series keep their stored 8-bit samples in a last axis. MONOCHROME1 is flagged for display only.

    Raises
    ------
    UnreadableInput
        When a file of the series is damaged or its pixel data does not match its header.
    GeometryError
        When the images cannot form one volume.
    """
    layout = arrange_frames(series.frames)
    stored = _read_stored_voxels(layout, progress, cancel)
    is_rgb = series.frames[0].samples > 1
    if is_rgb:
        array = stored
    else:
        slopes, intercepts = _rescale_grid(layout)
        array = rescale_frames(stored, slopes, intercepts)
    if array.shape[0] == 1:
        array = array[0]
    report(progress, 1.0, "loaded")
    return Volume(
        array=array,
        affine=layout.affine,
        info=volume_info(series),
        warnings=[*series.warnings, *layout.warnings, *_content_warnings(series)],
        slice_positions=layout.slice_positions,
        is_rgb=is_rgb,
        has_patient_geometry=layout.has_geometry,
        spacing_known=layout.spacing_known,
    )


def _volume_shape(layout: StackLayout) -> tuple[int, ...]:
    first = layout.frames[0][0]
    if first.mosaic is not None:
        spatial = (first.mosaic.n_slices, first.mosaic.tile_rows, first.mosaic.tile_columns)
    else:
        spatial = (len(layout.frames[0]), first.rows, first.columns)
    samples = (first.samples,) if first.samples > 1 else ()
    return (len(layout.frames), *spatial, *samples)


def _read_stored_voxels(
    layout: StackLayout, progress: ProgressCallback | None, cancel: threading.Event | None
) -> np.ndarray:
    """Decode every file once and place its images in a ``[t, k, row, column(, sample)]`` buffer.

    Uncompressed single images are read from the file straight into their place in the buffer.
    """
    destinations: dict[Path, list[tuple[int, int, FrameRecord]]] = defaultdict(list)
    for t, volume_frames in enumerate(layout.frames):
        for k, frame in enumerate(volume_frames):
            destinations[frame.path].append((t, k, frame))
    shape = _volume_shape(layout)
    first = layout.frames[0][0].stored_pixels
    stored = np.empty(shape, dtype=native_dtype(first)) if first is not None else None
    for number, (path, places) in enumerate(destinations.items()):
        check_cancelled(cancel)
        report(progress, number / len(destinations), f"reading {path.name}")
        t, k, frame = places[0]
        if stored is not None and _fits_directly(frame, stored) and len(places) == 1:
            read_stored_into(path, frame.stored_pixels, stored[t, k])
            continue
        pixels = read_pixel_frames(path, frame.stored_pixels)
        if stored is None:
            stored = np.empty(shape, dtype=pixels.dtype)
        elif not np.can_cast(pixels.dtype, stored.dtype, casting="safe"):
            # Files of one series stored with different types (signed and unsigned): widen, never wrap.
            stored = stored.astype(np.result_type(stored.dtype, pixels.dtype))
        for t, k, frame in places:
            image = pixels[frame.frame or 0]
            if frame.mosaic is not None:
                stored[t] = _checked(untile_mosaic(image, frame.mosaic), stored.shape[1:], path)
            else:
                stored[t, k] = _checked(image, stored.shape[2:], path)
    return stored


def _fits_directly(frame: FrameRecord, stored: np.ndarray) -> bool:
    """True when ``frame``'s file holds just this one uncompressed image, of the buffer's type and size."""
    pixels = frame.stored_pixels
    return (
        pixels is not None
        and frame.mosaic is None
        and pixels.shape[0] == 1
        and pixels.shape[1:] == stored.shape[2:]
        and native_dtype(pixels) == stored.dtype
    )


def _checked(image: np.ndarray, shape: tuple[int, ...], path: Path) -> np.ndarray:
    if image.shape != shape:
        raise GeometryError(f"{path}: image of shape {image.shape} does not fit a series of shape {shape}")
    return image


def _rescale_grid(layout: StackLayout) -> tuple[np.ndarray, np.ndarray]:
    """Slope and intercept for every ``[t, k]`` image (one per mosaic, broadcast over its slices)."""
    slopes = np.array([[frame.rescale_slope for frame in row] for row in layout.frames])
    intercepts = np.array([[frame.rescale_intercept for frame in row] for row in layout.frames])
    if layout.is_mosaic:
        n_slices = layout.frames[0][0].mosaic.n_slices
        slopes, intercepts = (np.repeat(values, n_slices, axis=1) for values in (slopes, intercepts))
    return slopes, intercepts


def _content_warnings(series: SeriesRecord) -> list[str]:
    if series.frames[0].photometric == "PALETTE COLOR":
        return ["PALETTE COLOR image: the voxels are palette indices, not colours or intensities"]
    return []


def volume_info(series: SeriesRecord) -> VolumeInfo:
    """Patient, study and series description and display windows of a scanned series."""
    identity, first = series.identity, series.frames[0]
    return VolumeInfo(
        patient_name=identity.patient_name,
        patient_id=identity.patient_id,
        study_uid=identity.study_uid,
        study_date=identity.study_date,
        study_description=identity.study_description,
        series_uid=identity.series_uid,
        series_number=identity.series_number,
        series_description=identity.series_description,
        modality=identity.modality,
        frame_of_reference_uid=identity.frame_of_reference_uid,
        photometric=first.photometric,
        window_presets=series_windows(series),
        patient_orientation=first.patient_orientation,
        details=dict(identity.details),
    )


def series_windows(series: SeriesRecord) -> list[WindowPreset]:
    """The display windows the series' headers carry, the one most images carry first.

    A series' first file may say another window than the rest (seen: an MR whose first slice says W502/L210 while
    most say W1168/L606); the majority is what the scanner meant for the series. Ties keep the order of the
    images; each distinct window appears once.
    """
    counts = Counter(tuple(frame.window_presets[0][:2]) for frame in series.frames if frame.window_presets)
    windows: dict[tuple[float, float], WindowPreset] = {}
    for frame in series.frames:
        for center, width, name in frame.window_presets:
            windows.setdefault((center, width), WindowPreset(center, width, name))
    return sorted(windows.values(), key=lambda preset: -counts.get((preset.center, preset.width), 0))


def describe_series(series: SeriesRecord, volume: Volume | None = None) -> dict:
    """JSON-able description of a series for ``medstation info``: identity, shape, spacing, orientation.

    Geometry comes from the headers alone unless a loaded ``volume`` is given. Spacing is ``(si, sj, sk)``
    in mm (a nominal 1 in-plane where ``spacing_known`` is False: the pixel size is unknown), shape is
    ``[k, j, i]`` or ``[t, k, j, i]``, orientation is the LPS code of the i, j, k axes.
    """
    identity = series.identity
    description = {
        "patient_name": identity.patient_name,
        "patient_id": identity.patient_id,
        "study_uid": identity.study_uid,
        "study_description": identity.study_description,
        "study_date": identity.study_date,
        "series_uid": identity.series_uid,
        "series_number": identity.series_number,
        "series_description": identity.series_description,
        "split": series.split_label,
        "modality": identity.modality,
        "files": series.n_files,
    }
    if volume is None:
        layout = arrange_frames(series.frames)
        shape = list(_volume_shape(layout))
        if shape[0] == 1:
            shape = shape[1:]
        affine, warnings = layout.affine, [*series.warnings, *layout.warnings]
        spacing_known = layout.spacing_known
    else:
        shape, affine, warnings = list(volume.array.shape), volume.affine, volume.warnings
        spacing_known = volume.spacing_known
    description.update({
        "shape": shape,
        "spacing": [round(value, 6) for value in affine_spacing(affine)],
        "spacing_known": spacing_known,
        "origin": [round(float(value), 6) for value in affine[:3, 3]],
        "orientation": orientation_code(affine),
        "tilt_degrees": round(tilt_angle_degrees(affine), 3),
        "warnings": list(warnings),
    })
    return description

