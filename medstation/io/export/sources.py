"""The DICOM images a derived object is made from: a scanned series' files, read in the volume's slice order.

Derived objects (SR, SEG, Parametric Map, Key Object Selection, secondary capture) copy the patient and study of
their source and reference its instances, series and frame of reference. The headers are read without pixel data;
Type 2 patient and study attributes a source leaves out are added empty *to the copy in memory* (highdicom copies
them, and a derived object must carry them), the source files themselves are never changed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from medstation.errors import UnreadableInput
from medstation.io.export.files import ExportError

TYPE2_COPIED = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
                "ReferringPhysicianName", "StudyID", "AccessionNumber")


@dataclass
class SourceImages:
    """The headers of one series' images, one per slice ``k`` of its volume (the first volume of a 4-D series).

    ``frames`` is None for single-frame files (``datasets[k]`` is slice ``k``); for one multi-frame file it lists
    the file's frame number (1-based) of each slice.
    """

    datasets: list
    paths: list[Path]
    frames: list[int] | None = None

    @property
    def first(self):
        return self.datasets[0]

    @property
    def series_uid(self) -> str:
        return str(self.first.SeriesInstanceUID)

    @property
    def study_uid(self) -> str:
        return str(self.first.StudyInstanceUID)

    @property
    def frame_of_reference_uid(self) -> str:
        return str(self.first.get("FrameOfReferenceUID", "") or "")

    @property
    def n_slices(self) -> int:
        return len(self.frames) if self.frames is not None else len(self.datasets)

    def instance_uids(self) -> list[str]:
        """SOPInstanceUID of every slice ``k`` (one multi-frame file repeats its UID)."""
        if self.frames is not None:
            return [str(self.first.SOPInstanceUID)] * len(self.frames)
        return [str(dataset.SOPInstanceUID) for dataset in self.datasets]

    def slice_dataset(self, k: int):
        """The header of the file holding slice ``k``."""
        return self.first if self.frames is not None else self.datasets[k]


def read_source_images(series) -> SourceImages:
    """Read the headers of a scanned series (:class:`~medstation.io.dicom.scan.SeriesRecord`) in slice order.

    Raises
    ------
    ExportError
        For a Siemens mosaic (its slices are tiles of one image, which no derived object can reference one by one)
        or a multi-frame file whose frames are not in slice order.
    UnreadableInput
        When a file can no longer be read, naming it.
    """
    from medstation.io.dicom.geometry import arrange_frames

    layout = arrange_frames(series.frames)
    slices = layout.frames[0]
    if slices[0].mosaic is not None:
        raise ExportError(f"{slices[0].path}: a mosaic image; derived objects need one image per slice")
    paths = list(dict.fromkeys(frame.path for frame in slices))
    datasets = [_read_header(path) for path in paths]
    if len(paths) == 1 and slices[0].frame is not None:
        frames = [frame.frame + 1 for frame in slices]
        if frames != sorted(frames):
            raise ExportError(f"{paths[0]}: its frames are not in slice order; derived objects cannot refer to them")
        return SourceImages(datasets, paths, frames)
    if len(paths) != len(slices):
        raise ExportError(f"{paths[0]}: the series mixes multi-frame files; derived objects cannot refer to it")
    return SourceImages(datasets, paths)


def _read_header(path: Path):
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        dataset = pydicom.dcmread(path, stop_before_pixels=True)
    except (OSError, InvalidDicomError, ValueError) as error:
        raise UnreadableInput(f"{path}: cannot be read again ({error})") from error
    for keyword in TYPE2_COPIED:
        if keyword not in dataset:
            setattr(dataset, keyword, "")
    return dataset


def find_source_series(path: str | os.PathLike, series_uid: str, n_slices: int | None = None):
    """The series of ``path`` (a DICOM file or folder) with SeriesInstanceUID ``series_uid`` (and ``n_slices``
    slices where several parts share the UID).

    Raises
    ------
    ExportError
        When ``path`` holds no such series (the volume did not come from DICOM, or the files moved).
    """
    from medstation.io.dicom.geometry import arrange_frames
    from medstation.io.dicom.series import scan_dicom

    if not series_uid:
        raise ExportError(f"{path}: the image did not come from a DICOM series; DICOM objects need one")
    matches = [series for series in scan_dicom(path).series if series.identity.series_uid == series_uid]
    if n_slices is not None and len(matches) > 1:
        matches = [series for series in matches if len(arrange_frames(series.frames).frames[0]) == n_slices]
    if not matches:
        raise ExportError(f"{path}: no longer holds the series {series_uid}; open it again from its files")
    return matches[0]
