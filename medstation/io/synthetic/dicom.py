"""Synthetic images as DICOM Secondary Capture: fresh identifiers, marked synthetic, pixels not altered.

Each file is its own study and series with fresh UIDs (``pydicom.uid.generate_uid``), PatientName
``SYNTHETIC``, ImageType ``DERIVED\\SECONDARY\\SYNTHETIC``, SyntheticData (0008,001C) ``YES`` and
ConversionType ``SYN``. The sample (floats in [0, 1]) is stored as 16-bit MONOCHROME2 ``round(x * 65535)`` with
RescaleSlope ``1 / 65535``, so a reader applying the modality rescale gets the sample back to within half a
16-bit step (``0.5 / 65535``); nothing is drawn into the pixels (BurnedInAnnotation ``NO``).
"""

from __future__ import annotations

import datetime
from pathlib import Path

import numpy as np

from medstation import __version__
from medstation.io.synthetic.provenance import SYNTHETIC, SyntheticProvenance

STORED_MAX = 65535
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"


def stored_values(image: np.ndarray) -> np.ndarray:
    """The 16-bit values stored for ``image`` (floats in [0, 1])."""
    return np.rint(np.clip(image, 0.0, 1.0) * STORED_MAX).astype("<u2")


def synthetic_secondary_capture(image: np.ndarray, provenance: SyntheticProvenance):
    """A ``pydicom.FileDataset``-ready Secondary Capture of ``image`` ``[row, column]``, marked synthetic."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid
    from pydicom.valuerep import DS

    now = datetime.datetime.now()
    date, time = now.strftime("%Y%m%d"), now.strftime("%H%M%S")
    instance_uid = generate_uid()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SECONDARY_CAPTURE
    meta.MediaStorageSOPInstanceUID = instance_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian

    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["DERIVED", "SECONDARY", SYNTHETIC]
    ds.SOPClassUID = SECONDARY_CAPTURE
    ds.SOPInstanceUID = instance_uid
    ds.InstanceCreationDate, ds.InstanceCreationTime = date, time
    ds.StudyDate, ds.StudyTime = date, time
    ds.ContentDate, ds.ContentTime = date, time
    ds.SyntheticData = "YES"
    ds.Modality = "OT"
    ds.ConversionType = "SYN"
    ds.Manufacturer = "MedStation"
    ds.SoftwareVersions = __version__
    ds.AccessionNumber = ""
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = f"{SYNTHETIC} images from {provenance.model}"[:64]
    ds.SeriesDescription = provenance.short_description()[:64]
    ds.ImageComments = provenance.statement()
    ds.PatientName = SYNTHETIC
    ds.PatientID = f"{SYNTHETIC}-{provenance.seed}-{provenance.index}"[:64]
    ds.PatientBirthDate = ""
    ds.PatientSex = ""
    ds.PatientIdentityRemoved = "YES"
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.StudyID = ""
    ds.SeriesNumber = 1
    ds.InstanceNumber = provenance.index + 1
    ds.PatientOrientation = ""
    ds.BurnedInAnnotation = "NO"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = image.shape
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.RescaleIntercept = 0
    ds.RescaleSlope = DS(1 / STORED_MAX, auto_format=True)
    ds.RescaleType = "US"
    ds.WindowCenter = 0.5
    ds.WindowWidth = 1.0
    ds.PixelData = stored_values(image).tobytes()
    return ds


def write_synthetic_dicom(image: np.ndarray, provenance: SyntheticProvenance, path: Path) -> None:
    """Write ``image`` (floats in [0, 1], ``[row, column]``) as a synthetic Secondary Capture file."""
    synthetic_secondary_capture(image, provenance).save_as(path, enforce_file_format=True)
