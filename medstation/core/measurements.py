"""Measurements on slices: rulers (mm) and rectangle / ellipse regions with statistics, and their export.

Positions are LPS (mm) for rulers; regions are drawn on a view's screen plane, in screen mm (x right,
y down) of that view's slice, see :mod:`medstation.core.reslice`.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from medstation.core.events import Event

EXPORT_FIELDS = ("id", "kind", "view", "slice", "length_mm", "mean", "sd", "min", "max", "area_mm2", "n_pixels",
                 "points_lps_mm", "unit")
MILLIMETRES, PIXELS = "mm", "px"


@dataclass(frozen=True)
class RegionStatistics:
    """Statistics of the voxel values (real-world units, HU for CT) whose centres lie inside a region."""

    mean: float
    sd: float
    minimum: float
    maximum: float
    area_mm2: float
    n_pixels: int


@dataclass(eq=False)
class Ruler:
    """A straight distance between two LPS points (mm), drawn on ``view``'s slice ``slice_index``.

    ``unit`` is ``"px"`` on an image whose pixel size is unknown: its nominal millimetres are pixels.
    """

    view: str
    slice_index: int
    start: np.ndarray
    end: np.ndarray
    id: int = 0
    unit: str = MILLIMETRES

    @property
    def length_mm(self) -> float:
        return float(np.linalg.norm(np.asarray(self.end) - np.asarray(self.start)))


@dataclass(eq=False)
class Region:
    """A rectangle or ellipse inscribed in screen bounds ``(x0, y0, x1, y1)`` (mm) on a view's slice.

    ``unit`` is ``"px"`` on an image whose pixel size is unknown (the area is then in square pixels).
    """

    view: str
    slice_index: int
    shape: Literal["rectangle", "ellipse"]
    bounds: tuple[float, float, float, float]
    statistics: RegionStatistics
    corners_lps: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    id: int = 0
    unit: str = MILLIMETRES


Measurement = Ruler | Region


def region_mask(
    n_rows: int, n_columns: int, pixel_to_screen: np.ndarray, shape: str, bounds: tuple[float, float, float, float]
) -> np.ndarray:
    """Boolean ``[row, col]`` mask of the pixels whose centres lie inside the shape.

    Parameters
    ----------
    pixel_to_screen
        2x3 matrix from pixel ``(col, row, 1)`` to screen ``(x, y)`` in mm.
    shape
        ``"rectangle"`` or ``"ellipse"`` (inscribed in the bounds).
    bounds
        ``(x0, y0, x1, y1)`` in screen mm, in any corner order.
    """
    x0, x1 = sorted(bounds[0::2])
    y0, y1 = sorted(bounds[1::2])
    rows, columns = np.mgrid[0:n_rows, 0:n_columns]
    x = pixel_to_screen[0, 0] * columns + pixel_to_screen[0, 1] * rows + pixel_to_screen[0, 2]
    y = pixel_to_screen[1, 0] * columns + pixel_to_screen[1, 1] * rows + pixel_to_screen[1, 2]
    if shape == "rectangle":
        return (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
    if shape == "ellipse":
        half_width, half_height = max((x1 - x0) / 2, 1e-9), max((y1 - y0) / 2, 1e-9)
        return ((x - (x0 + x1) / 2) / half_width) ** 2 + ((y - (y0 + y1) / 2) / half_height) ** 2 <= 1.0
    raise ValueError(f"unknown region shape {shape!r}; expected 'rectangle' or 'ellipse'")


def region_statistics(
    image: np.ndarray, pixel_to_screen: np.ndarray, shape: str, bounds: tuple[float, float, float, float]
) -> RegionStatistics:
    """Mean, SD (population), min, max of ``image`` inside the region, and the region's area in mm².

    The area is the geometric area of the drawn shape; ``n_pixels`` counts the pixels whose centres
    are inside it (the ones the statistics use). A region with no pixel centre inside has NaN statistics.
    """
    mask = region_mask(image.shape[0], image.shape[1], pixel_to_screen, shape, bounds)
    width, height = abs(bounds[2] - bounds[0]), abs(bounds[3] - bounds[1])
    area = width * height * (np.pi / 4 if shape == "ellipse" else 1.0)
    values = np.asarray(image)[mask].astype(np.float64)
    if values.size == 0:
        nan = float("nan")
        return RegionStatistics(nan, nan, nan, nan, float(area), 0)
    return RegionStatistics(float(values.mean()), float(values.std()), float(values.min()), float(values.max()),
                            float(area), int(values.size))


class MeasurementList:
    """The measurements of one volume, with ``added(measurement)`` and ``removed(measurement)`` events."""

    def __init__(self) -> None:
        self.items: list[Measurement] = []
        self.added = Event()
        self.removed = Event()
        self._next_id = 1

    def add(self, measurement: Measurement) -> Measurement:
        measurement.id = self._next_id
        self._next_id += 1
        self.items.append(measurement)
        self.added.emit(measurement)
        return measurement

    def restore(self, measurements: list[Measurement]) -> None:
        """Add measurements saved earlier, keeping their numbers; new ones are numbered after them."""
        for measurement in measurements:
            self.items.append(measurement)
            self._next_id = max(self._next_id, measurement.id + 1)
            self.added.emit(measurement)

    def remove(self, measurement: Measurement) -> None:
        self.items.remove(measurement)
        self.removed.emit(measurement)

    def clear(self) -> None:
        for measurement in list(self.items):
            self.remove(measurement)

    def rows(self) -> list[dict]:
        """One JSON-able dict per measurement with the keys of ``EXPORT_FIELDS``.

        Lengths and areas are in mm and mm² (in px and px² where ``unit`` is ``"px"``); values in real-world units.
        """
        return [measurement_row(m) for m in self.items]

    def export(self, path: str | os.PathLike) -> Path:
        """Write the measurements as ``.csv`` or ``.json`` (chosen by the suffix)."""
        path = Path(path)
        rows = self.rows()
        if path.suffix.lower() == ".json":
            path.write_text(json.dumps({"measurements": rows}, indent=2))
        elif path.suffix.lower() == ".csv":
            with path.open("w", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=EXPORT_FIELDS)
                writer.writeheader()
                for row in rows:
                    writer.writerow({**row, "points_lps_mm": json.dumps(row["points_lps_mm"])})
        else:
            raise ValueError(f"{path}: measurements export as .csv or .json")
        return path


def length_text(ruler: Ruler) -> str:
    """The ruler's length with its unit, e.g. ``"12.3 mm"`` or ``"40.0 px"``."""
    return f"{ruler.length_mm:.1f} {ruler.unit}"


def area_text(region: Region) -> str:
    """The region's area with its unit, e.g. ``"80.2 mm²"`` or ``"96.0 px²"``."""
    return f"{region.statistics.area_mm2:.1f} {region.unit}²"


def measurement_row(measurement: Measurement) -> dict:
    """A flat, JSON-able description of a measurement (empty strings where a field does not apply)."""
    row = dict.fromkeys(EXPORT_FIELDS, "")
    row.update(id=measurement.id, view=measurement.view, slice=measurement.slice_index, unit=measurement.unit)
    if isinstance(measurement, Ruler):
        row.update(kind="ruler", length_mm=round(measurement.length_mm, 3),
                   points_lps_mm=[np.round(measurement.start, 3).tolist(), np.round(measurement.end, 3).tolist()])
    else:
        stats = measurement.statistics
        row.update(kind=measurement.shape, mean=round(stats.mean, 3), sd=round(stats.sd, 3), min=stats.minimum,
                   max=stats.maximum, area_mm2=round(stats.area_mm2, 3), n_pixels=stats.n_pixels,
                   points_lps_mm=np.round(measurement.corners_lps, 3).tolist())
    return row


def measurement_record(measurement: Measurement) -> dict:
    """Everything needed to draw ``measurement`` again, JSON-able (see :func:`measurement_from_record`)."""
    common = {"id": measurement.id, "view": measurement.view, "slice": measurement.slice_index,
              "unit": measurement.unit}
    if isinstance(measurement, Ruler):
        return {**common, "kind": "ruler", "start": np.asarray(measurement.start, float).tolist(),
                "end": np.asarray(measurement.end, float).tolist()}
    stats = measurement.statistics
    return {**common, "kind": measurement.shape, "bounds": list(map(float, measurement.bounds)),
            "corners": np.asarray(measurement.corners_lps, float).tolist(),
            "statistics": {"mean": stats.mean, "sd": stats.sd, "minimum": stats.minimum, "maximum": stats.maximum,
                           "area_mm2": stats.area_mm2, "n_pixels": stats.n_pixels}}


def measurement_from_record(record: dict) -> Measurement:
    """The measurement a :func:`measurement_record` describes.

    Raises
    ------
    KeyError, TypeError, ValueError
        When the record is not one :func:`measurement_record` wrote.
    """
    common = {"view": str(record["view"]), "slice_index": int(record["slice"]), "id": int(record["id"]),
              "unit": PIXELS if record.get("unit") == PIXELS else MILLIMETRES}
    if record["kind"] == "ruler":
        return Ruler(start=np.array(record["start"], float).reshape(3), end=np.array(record["end"], float).reshape(3),
                     **common)
    if record["kind"] not in ("rectangle", "ellipse"):
        raise ValueError(f"unknown measurement kind {record['kind']!r}")
    stats = record["statistics"]
    statistics = RegionStatistics(float(stats["mean"]), float(stats["sd"]), float(stats["minimum"]),
                                  float(stats["maximum"]), float(stats["area_mm2"]), int(stats["n_pixels"]))
    bounds = tuple(float(value) for value in record["bounds"])
    if len(bounds) != 4:
        raise ValueError("a region needs four bounds")
    return Region(shape=record["kind"], bounds=bounds, statistics=statistics,
                  corners_lps=np.array(record["corners"], float).reshape(-1, 3), **common)
