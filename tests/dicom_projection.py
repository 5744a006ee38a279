"""A 2-D projection radiograph (DX) written with pydicom: no patient geometry, optionally a PatientOrientation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, generate_uid

DX_STORAGE = "1.2.840.10008.5.1.4.1.1.1.1"
ROWS, COLUMNS = 30, 40


def projection_pixels() -> np.ndarray:
    """``[row, column]`` uint16 image, dark but for a bright block in its top-right corner (stored order)."""
    pixels = np.full((ROWS, COLUMNS), 100, dtype=np.uint16)
    pixels[: ROWS // 3, -COLUMNS // 4 :] = 1000
    return pixels


def write_projection(
    path: Path,
    patient_orientation: tuple[str, ...] | str | None = ("L", "F"),
    transfer_syntax: str = ExplicitVRLittleEndian,
) -> Path:
    """Write a DX image of :func:`projection_pixels` without ImagePositionPatient / ImageOrientationPatient.

    Parameters
    ----------
    path
        File to write.
    patient_orientation
        PatientOrientation values (``("L", "F")`` is stored as ``L\\F``; a string is stored as it is), or None
        to leave it out.
    transfer_syntax
        Explicit VR little endian (read by the fast header reader), big endian or a compressed syntax
        pydicom can encode (RLE Lossless; both read by pydicom).
    """
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = DX_STORAGE
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset = Dataset()
    dataset.file_meta = meta
    dataset.SOPClassUID = DX_STORAGE
    dataset.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    dataset.PatientName, dataset.PatientID = "Test^Radiograph", "DX1"
    dataset.StudyInstanceUID, dataset.SeriesInstanceUID = generate_uid(), generate_uid()
    dataset.SeriesNumber, dataset.InstanceNumber = 1, 1
    dataset.Modality, dataset.SeriesDescription = "DX", "chest PA"
    dataset.StudyDate = "20240102"
    if patient_orientation is not None:
        is_text = isinstance(patient_orientation, str)
        dataset.PatientOrientation = patient_orientation if is_text else list(patient_orientation)
    dataset.ImagerPixelSpacing = ["0.2", "0.2"]
    dataset.WindowCenter, dataset.WindowWidth = "550", "900"
    dataset.Rows, dataset.Columns = ROWS, COLUMNS
    dataset.SamplesPerPixel, dataset.PhotometricInterpretation = 1, "MONOCHROME2"
    dataset.BitsAllocated, dataset.BitsStored, dataset.HighBit, dataset.PixelRepresentation = 16, 12, 11, 0
    pixels = projection_pixels()
    if transfer_syntax == ExplicitVRBigEndian:
        dataset.PixelData = pixels.astype(">u2").tobytes()
        meta.TransferSyntaxUID = transfer_syntax
        dataset.save_as(path, implicit_vr=False, little_endian=False, enforce_file_format=True)
        return path
    dataset.PixelData = pixels.astype("<u2").tobytes()
    if transfer_syntax != ExplicitVRLittleEndian:
        dataset.compress(transfer_syntax, pixels)
    dataset.save_as(path, enforce_file_format=True)
    return path
