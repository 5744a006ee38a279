"""One patient's CT studies written with pydicom: visits on several dates, series sharing a frame of reference.

Every voxel holds the height of its slice: HU = z in mm (rounded), so a position can be read back from the image.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid


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
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        dataset = Dataset()
        dataset.file_meta = meta
        dataset.SOPClassUID = CTImageStorage
        dataset.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        dataset.PatientName, dataset.PatientID = patient_name, patient_id
        dataset.StudyInstanceUID, dataset.SeriesInstanceUID = study_uid, series_uid
        dataset.FrameOfReferenceUID = frame_of_reference
        dataset.StudyDate, dataset.StudyTime, dataset.StudyDescription = study_date, "101010", study_description
        dataset.SeriesNumber, dataset.InstanceNumber = series_number, k + 1
        dataset.Modality, dataset.SeriesDescription = "CT", series_description
        dataset.ImagePositionPatient = [f"{value:g}" for value in (origin[0], origin[1], z)]
        dataset.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
        dataset.PixelSpacing = [f"{value:g}" for value in pixel_spacing]
        dataset.SliceThickness = f"{slice_step:g}"
        dataset.RescaleSlope, dataset.RescaleIntercept = "1", "-1024"
        dataset.WindowCenter, dataset.WindowWidth = "40", "400"
        dataset.Rows, dataset.Columns = rows, columns
        dataset.SamplesPerPixel, dataset.PhotometricInterpretation = 1, "MONOCHROME2"
        dataset.BitsAllocated, dataset.BitsStored, dataset.HighBit, dataset.PixelRepresentation = 16, 16, 15, 0
        dataset.PixelData = np.full((rows, columns), round(z) + 1024, dtype="<u2").tobytes()
        dataset.save_as(folder / f"{series_number:02d}-{k:03d}.dcm", enforce_file_format=True)
    return folder
