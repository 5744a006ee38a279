"""Write the sample study: six PneumoniaMNIST test images as DICOM DX files with made-up, non-identifying data.

Run from the repository root: ``python packaging/make_sample_study.py PATH/TO/pneumoniamnist.npz``; the images go
to ``medstation/data/resources/sample/images/`` and ``labels.csv`` to ``medstation/data/resources/sample/``. The first
three normal and the first three pneumonia images of the official test split are written, each as its own series
of one study, with ``labels.csv`` giving their true labels.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian, generate_uid

DX_FOR_PRESENTATION = "1.2.840.10008.5.1.4.1.1.1.1"
LABELS = ("normal", "pneumonia")
PER_LABEL = 3
OUT = Path(__file__).resolve().parents[1] / "medstation" / "data" / "resources" / "sample"
IMAGES = OUT / "images"
STUDY_DATE = "20260101"


def _uid(*parts: object) -> str:
    """A UID derived from fixed text, so re-running the script writes identical files."""
    return generate_uid(entropy_srcs=["medstation-sample", *map(str, parts)])


def dx_dataset(pixels: np.ndarray, number: int, test_index: int, label: str) -> Dataset:
    """One DX image for presentation: 8-bit MONOCHROME2, its own series, clearly marked as sample data."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = DX_FOR_PRESENTATION
    meta.MediaStorageSOPInstanceUID = _uid("image", test_index)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = DX_FOR_PRESENTATION
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.PatientName = "SAMPLE^PNEUMONIAMNIST"
    ds.PatientID = "MEDSTATION-SAMPLE"
    ds.PatientBirthDate = ""
    ds.PatientSex = "O"
    ds.PatientIdentityRemoved = "YES"
    ds.StudyInstanceUID = _uid("study")
    ds.StudyDate = STUDY_DATE
    ds.StudyTime = "000000"
    ds.StudyID = "SAMPLE"
    ds.AccessionNumber = ""
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = "SAMPLE: PneumoniaMNIST test images (MedMNIST v2, CC BY 4.0)"
    ds.SeriesInstanceUID = _uid("series", test_index)
    ds.SeriesNumber = number
    ds.SeriesDescription = f"PneumoniaMNIST test image {test_index}"
    ds.Modality = "DX"
    ds.PresentationIntentType = "FOR PRESENTATION"
    ds.BodyPartExamined = "CHEST"
    ds.ViewPosition = "AP"
    ds.PatientOrientation = ["L", "F"]
    ds.Manufacturer = "MedStation sample (not from a scanner)"
    ds.InstanceNumber = 1
    ds.ImageType = ["DERIVED", "SECONDARY"]
    ds.DerivationDescription = "28x28 PneumoniaMNIST image from MedMNIST v2, doi 10.1038/s41597-022-01721-8"
    ds.ImageComments = f"Sample for demonstration only, not for diagnosis. Test index {test_index}, label {label}."
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = pixels.shape
    ds.BitsAllocated = 8
    ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.WindowCenter = 128
    ds.WindowWidth = 256
    ds.PixelData = np.ascontiguousarray(pixels, dtype=np.uint8).tobytes()
    return ds


def main(npz_path: str) -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    with np.load(npz_path) as archive:
        images, labels = archive["test_images"], archive["test_labels"].ravel()
    picked = [int(i) for value in range(len(LABELS)) for i in np.flatnonzero(labels == value)[:PER_LABEL]]
    rows = []
    for number, index in enumerate(picked, start=1):
        label = LABELS[labels[index]]
        name = f"sample-{number:02d}.dcm"
        dx_dataset(images[index], number, index, label).save_as(IMAGES / name, enforce_file_format=True)
        rows.append({"path": f"images/{name}", "label": label, "split": "test", "test_index": index})
    with (OUT / "labels.csv").open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main(sys.argv[1])
