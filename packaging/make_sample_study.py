"""Write the sample study: six PneumoniaMNIST test images and twelve full-resolution chest radiographs of test-split
patients, as DICOM DX files with made-up, non-identifying data.

Run from the repository root::

    python packaging/make_sample_study.py PATH/TO/pneumoniamnist.npz PATH/TO/cxr-kermany

The images go to ``medstation/data/resources/sample/images/`` and ``labels.csv`` to
``medstation/data/resources/sample/``; re-running the script writes identical files.

- ``sample-01.dcm`` .. ``sample-06.dcm``: the first three normal and the first three pneumonia images of
  PneumoniaMNIST's official test split, 28x28, uncompressed; patient ``SAMPLE^PNEUMONIAMNIST``, one study.
- ``cxr-01.dcm`` .. ``cxr-12.dcm``: the twelve originals of ``cxr-kermany/originals`` (test-split patients, 1024 px
  on the long side), normal first, then pneumonia, each file's JPEG bytes encapsulated unchanged (JPEG Baseline
  transfer syntax) with no pixel size, since none is known; patient ``SAMPLE^CXR``, one study.

Each image is its own series; ``labels.csv`` gives every image's true label (``normal``/``pneumonia``) and, where the
source records it, its finding (``normal``/``bacteria``/``virus``).
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian, JPEGBaseline8Bit, generate_uid

DX_FOR_PRESENTATION = "1.2.840.10008.5.1.4.1.1.1.1"
LABELS = ("normal", "pneumonia")
PER_LABEL = 3
OUT = Path(__file__).resolve().parents[1] / "medstation" / "data" / "resources" / "sample"
IMAGES = OUT / "images"
STUDY_DATE = "20260101"
KERMANY_DATA = "Kermany, Zhang, Goldbaum, Mendeley Data v2, doi 10.17632/rscbjbr9sj.2, CC BY 4.0"
COLUMNS = ("path", "label", "finding", "split", "test_index", "source")


def _uid(*parts: object) -> str:
    """A UID derived from fixed text, so re-running the script writes identical files."""
    return generate_uid(entropy_srcs=["medstation-sample", *map(str, parts)])


def _sample_dataset(meta_uid: str, transfer_syntax: str) -> Dataset:
    """The attributes every sample image shares: a DX image for presentation, clearly marked as sample data."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = DX_FOR_PRESENTATION
    meta.MediaStorageSOPInstanceUID = meta_uid
    meta.TransferSyntaxUID = transfer_syntax
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = DX_FOR_PRESENTATION
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    return ds


def _describe_patient_and_study(ds: Dataset, patient: str, study: str, description: str) -> None:
    ds.PatientName = f"SAMPLE^{patient}"
    ds.PatientID = "MEDSTATION-SAMPLE" if patient == "PNEUMONIAMNIST" else f"MEDSTATION-SAMPLE-{patient}"
    ds.PatientBirthDate = ""
    ds.PatientSex = "O"
    ds.PatientIdentityRemoved = "YES"
    ds.StudyInstanceUID = _uid(study)
    ds.StudyDate = STUDY_DATE
    ds.StudyTime = "000000"
    ds.StudyID = "SAMPLE"
    ds.AccessionNumber = ""
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = description


def _describe_chest_dx(ds: Dataset, series_uid: str, number: int, description: str) -> None:
    ds.SeriesInstanceUID = series_uid
    ds.SeriesNumber = number
    ds.SeriesDescription = description
    ds.Modality = "DX"
    ds.PresentationIntentType = "FOR PRESENTATION"
    ds.BodyPartExamined = "CHEST"
    ds.ViewPosition = "AP"
    ds.PatientOrientation = ["L", "F"]
    ds.Manufacturer = "MedStation sample (not from a scanner)"
    ds.InstanceNumber = 1
    ds.ImageType = ["DERIVED", "SECONDARY"]


def _eight_bit_monochrome(ds: Dataset, rows: int, columns: int) -> None:
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = rows, columns
    ds.BitsAllocated = 8
    ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.WindowCenter = 128
    ds.WindowWidth = 256


def dx_dataset(pixels: np.ndarray, number: int, test_index: int, label: str) -> Dataset:
    """One 28x28 PneumoniaMNIST image: 8-bit MONOCHROME2, uncompressed, its own series."""
    ds = _sample_dataset(_uid("image", test_index), ExplicitVRLittleEndian)
    _describe_patient_and_study(ds, "PNEUMONIAMNIST", "study",
                                "SAMPLE: PneumoniaMNIST test images (MedMNIST v2, CC BY 4.0)")
    _describe_chest_dx(ds, _uid("series", test_index), number, f"PneumoniaMNIST test image {test_index}")
    ds.DerivationDescription = "28x28 PneumoniaMNIST image from MedMNIST v2, doi 10.1038/s41597-022-01721-8"
    ds.ImageComments = f"Sample for demonstration only, not for diagnosis. Test index {test_index}, label {label}."
    _eight_bit_monochrome(ds, *pixels.shape)
    ds.PixelData = np.ascontiguousarray(pixels, dtype=np.uint8).tobytes()
    return ds


def radiograph_dataset(jpeg: bytes, number: int, source: str, label: str, finding: str) -> Dataset:
    """One original radiograph: its greyscale baseline JPEG encapsulated unchanged, its own series, no pixel size."""
    with Image.open(io.BytesIO(jpeg)) as picture:
        if picture.format != "JPEG" or picture.mode != "L" or picture.info.get("progressive"):
            raise ValueError(f"{source}: expected a greyscale baseline JPEG, found {picture.format} {picture.mode}")
        columns, rows = picture.size
    ds = _sample_dataset(_uid("cxr image", source), JPEGBaseline8Bit)
    _describe_patient_and_study(ds, "CXR", "cxr study",
                                "SAMPLE: chest radiographs (Kermany et al., CC BY 4.0)")
    _describe_chest_dx(ds, _uid("cxr series", source), number, f"Chest radiograph, sample {number}")
    ds.DerivationDescription = (
        f"Original {source} ({KERMANY_DATA}) as distributed at 1024 px on the long side; JPEG bytes unchanged"
    )
    ds.ImageComments = f"Sample for demonstration only, not for diagnosis. Label {label}, finding {finding}."
    _eight_bit_monochrome(ds, rows, columns)
    ds.LossyImageCompression = "01"
    ds.LossyImageCompressionMethod = "ISO_10918_1"
    ds.LossyImageCompressionRatio = f"{rows * columns / len(jpeg):.2f}"
    ds.PixelData = encapsulate([jpeg])
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    return ds


def _pneumoniamnist_rows(npz_path: str) -> list[dict[str, object]]:
    with np.load(npz_path) as archive:
        images, labels = archive["test_images"], archive["test_labels"].ravel()
    picked = [int(i) for value in range(len(LABELS)) for i in np.flatnonzero(labels == value)[:PER_LABEL]]
    rows = []
    for number, index in enumerate(picked, start=1):
        label = LABELS[labels[index]]
        name = f"sample-{number:02d}.dcm"
        dx_dataset(images[index], number, index, label).save_as(IMAGES / name, enforce_file_format=True)
        finding = "normal" if label == "normal" else ""  # PneumoniaMNIST does not say bacterial or viral
        rows.append({"path": f"images/{name}", "label": label, "finding": finding, "split": "test",
                     "test_index": index, "source": "PneumoniaMNIST"})
    return rows


def _radiograph_rows(kermany_folder: str) -> list[dict[str, object]]:
    folder = Path(kermany_folder)
    with (folder / "labels.csv").open(newline="", encoding="utf-8") as stream:
        known = {Path(row["file"]).name: row for row in csv.DictReader(stream)}
    originals = sorted((folder / "originals").glob("*.jpeg"))
    originals.sort(key=lambda path: known[path.name]["label"] != "normal")  # normal first, then pneumonia
    rows = []
    for number, original in enumerate(originals, start=1):
        truth = known[original.name]
        if truth["split"] != "test":
            raise ValueError(f"{original}: not a test-split image")
        name = f"cxr-{number:02d}.dcm"
        dataset = radiograph_dataset(original.read_bytes(), number, original.name, truth["label"], truth["finding"])
        dataset.save_as(IMAGES / name, enforce_file_format=True)
        rows.append({"path": f"images/{name}", "label": truth["label"], "finding": truth["finding"],
                     "split": "test", "test_index": "", "source": original.name})
    return rows


def main(npz_path: str, kermany_folder: str) -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    rows = _pneumoniamnist_rows(npz_path) + _radiograph_rows(kermany_folder)
    with (OUT / "labels.csv").open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(f"usage: {sys.argv[0]} PATH/TO/pneumoniamnist.npz PATH/TO/cxr-kermany")
    main(sys.argv[1], sys.argv[2])
