"""One patient's CT studies written with pydicom: visits on several dates, series sharing a frame of reference.

Every voxel holds the height of its slice: HU = z in mm (rounded), so a position can be read back from the image.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid


def ct_slice(
    pixels: np.ndarray,
    position: tuple[float, float, float],
    *,
    study_uid: str,
    series_uid: str,
    series_number: int = 1,
    instance: int = 1,
    orientation: tuple[float, ...] = (1, 0, 0, 0, 1, 0),
    pixel_spacing: tuple[float, float] = (0.75, 0.75),
    intercept: float = -1024.0,
    photometric: str = "MONOCHROME2",
    patient: tuple[str, str] = ("Test^Patient", "P1"),
    study_date: str = "20240102",
) -> Dataset:
    """One CT slice (uint16 ``pixels`` stored little endian, uncompressed) at an LPS ``position`` in mm."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset = Dataset()
    dataset.file_meta = meta
    dataset.SOPClassUID = CTImageStorage
    dataset.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    dataset.PatientName, dataset.PatientID = patient
    dataset.StudyInstanceUID, dataset.SeriesInstanceUID = study_uid, series_uid
    dataset.StudyDate, dataset.StudyTime = study_date, "101010"
    dataset.SeriesNumber, dataset.InstanceNumber = series_number, instance
    dataset.Modality, dataset.SeriesDescription = "CT", f"series {series_number}"
    dataset.ImagePositionPatient = [f"{value:g}" for value in position]
    dataset.ImageOrientationPatient = [f"{value:g}" for value in orientation]
    dataset.PixelSpacing = [f"{value:g}" for value in pixel_spacing]
    dataset.RescaleSlope, dataset.RescaleIntercept = "1", f"{intercept:g}"
    dataset.WindowCenter, dataset.WindowWidth = "40", "400"
    dataset.Rows, dataset.Columns = pixels.shape
    dataset.SamplesPerPixel, dataset.PhotometricInterpretation = 1, photometric
    dataset.BitsAllocated, dataset.BitsStored, dataset.HighBit, dataset.PixelRepresentation = 16, 16, 15, 0
    dataset.PixelData = pixels.astype("<u2").tobytes()
    return dataset


def write_ct_series(
    folder: Path,
    *,
    study_uid: str,
    study_date: str,
    patient_id: str = "P1",
    patient_name: str = "Test^Patient",
    study_description: str = "CT HEAD",
    series_number: int = 1,
    series_description: str = "Head 2 mm",
    frame_of_reference: str | None = None,
    n_slices: int = 8,
    rows: int = 32,
    columns: int = 40,
    pixel_spacing: tuple[float, float] = (0.75, 0.75),
    slice_step: float = 2.0,
    origin: tuple[float, float, float] = (-12.0, -10.0, 0.0),
) -> Path:
    """Write an axial CT series (slice ``k`` at ``origin + (0, 0, k * slice_step)`` mm, LPS) into ``folder``.

    ``pixel_spacing`` is ``(row spacing, column spacing)`` in mm, as DICOM's PixelSpacing; a new frame of
    reference is made unless one is given. Returns ``folder``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    series_uid = generate_uid()
    frame_of_reference = frame_of_reference or generate_uid()
    for k in range(n_slices):
        z = origin[2] + k * slice_step
        pixels = np.full((rows, columns), round(z) + 1024, dtype=np.uint16)
        dataset = ct_slice(pixels, (origin[0], origin[1], z), study_uid=study_uid, series_uid=series_uid,
                           series_number=series_number, instance=k + 1, pixel_spacing=pixel_spacing,
                           patient=(patient_name, patient_id), study_date=study_date)
        dataset.FrameOfReferenceUID = frame_of_reference
        dataset.StudyDescription, dataset.SeriesDescription = study_description, series_description
        dataset.SliceThickness = f"{slice_step:g}"
        dataset.save_as(folder / f"{series_number:02d}-{k:03d}.dcm", enforce_file_format=True)
    return folder
