"""Exported synthetic images say so in every format, keep their pixels, and never overwrite or half-write."""

from __future__ import annotations

import os

import numpy as np
import pytest

from medstation.errors import MedStationError
from medstation.io.synthetic.writers import write_synthetic

LABELS = ["normal", "pneumonia", "normal"]
HALF_16_BIT_STEP = 0.5 / 65535


@pytest.fixture
def images() -> np.ndarray:
    rows, columns = np.mgrid[0:28, 0:28]
    ramp = (rows * 28 + columns) / (28 * 28 - 1)
    noise = np.random.default_rng(3).random((28, 28))
    batch = np.stack([ramp, noise, ramp[::-1]]).astype(np.float32)
    batch[0, 0, 0], batch[0, 0, 1] = 0.0, 1.0
    return batch


def _write(images, out_dir, fmt, **kwargs):
    return write_synthetic(images, LABELS, out_dir, fmt, model="cxr-gan", seed=11, **kwargs)


def test_png_has_a_text_chunk_and_a_visible_label_over_an_enlarged_image(images, tmp_path):
    from PIL import Image

    from medstation.io.synthetic.png import viewing_pixels

    paths = _write(images, tmp_path / "out", "png")
    assert [path.name for path in paths] == [
        "cxr-gan-seed11-0000-normal.png", "cxr-gan-seed11-0001-pneumonia.png", "cxr-gan-seed11-0002-normal.png"
    ]
    with Image.open(paths[1]) as png:
        png.load()
        assert png.mode == "L" and png.size == (280, 280)
        text = png.text["Synthetic"]
        pixels = np.asarray(png)
    assert text.startswith("SYNTHETIC: YES") and "cxr-gan" in text and "seed 11" in text and "pneumonia" in text
    assert "not a patient image" in text
    unlabelled = np.kron(np.rint(images[1] * 255).astype(np.uint8), np.ones((10, 10), np.uint8))
    changed = pixels != unlabelled
    assert changed[:40, :].any(), "the label is drawn in the top rows"
    assert not changed[60:, :].any(), "below the label the enlarged sample is untouched"
    label_box = pixels[:28, :140]
    assert (label_box == 0).mean() > 0.5 and (label_box == 255).mean() > 0.05, "white text on a black box"
    assert np.array_equal(viewing_pixels(images[1]), pixels)


def _ink(pixels: np.ndarray) -> np.ndarray:
    """The white pixels of an image, cropped to their bounding box."""
    rows, columns = np.nonzero(pixels == 255)
    return pixels[rows.min() : rows.max() + 1, columns.min() : columns.max() + 1] == 255


def test_the_burned_label_reads_synthetic():
    from PIL import Image, ImageDraw, ImageFont

    from medstation.io.synthetic.png import viewing_pixels

    label = _ink(viewing_pixels(np.zeros((28, 28), np.float32)))
    font = ImageFont.load_default(size=25)
    for word, matches in (("SYNTHETIC", True), ("SYNTHETIX", False)):
        canvas = Image.new("L", (280, 60), 0)
        ImageDraw.Draw(canvas).text((10, 10), word, fill=255, font=font)
        rendered = _ink(np.asarray(canvas))
        assert (rendered.shape == label.shape and np.array_equal(rendered, label)) is matches, word


def test_nifti_keeps_the_exact_float_sample_and_says_synthetic(images, tmp_path):
    import nibabel

    from medstation.io.nifti import read_volume

    paths = _write(images, tmp_path, "nii")
    for path, image in zip(paths, images, strict=True):
        loaded = nibabel.load(path)
        assert loaded.get_data_dtype() == np.float32
        description = loaded.header["descrip"].tobytes().rstrip(b"\0").decode()
        assert description.startswith("SYNTHETIC") and "cxr-gan" in description and len(description) <= 80
        assert np.array_equal(np.asarray(loaded.dataobj)[:, :, 0].T, image)
        volume = read_volume(path)
        assert np.array_equal(volume.array[0], image)
        assert volume.info.series_description.startswith("SYNTHETIC")


def test_dicom_is_a_marked_secondary_capture_read_back_by_both_readers(images, tmp_path):
    import pydicom

    from medstation.io.dicom.series import load_dicom
    from medstation.io.synthetic.dicom import stored_values

    paths = _write(images, tmp_path, "dcm")
    datasets = [pydicom.dcmread(path) for path in paths]
    for ds, image, label in zip(datasets, images, LABELS, strict=True):
        assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.7"
        assert str(ds.PatientName) == "SYNTHETIC" and ds.PatientID.startswith("SYNTHETIC-")
        assert list(ds.ImageType) == ["DERIVED", "SECONDARY", "SYNTHETIC"]
        assert ds[0x0008, 0x001C].value == "YES"
        assert ds.ConversionType == "SYN" and ds.BurnedInAnnotation == "NO"
        assert label in ds.ImageComments and "not a patient image" in ds.ImageComments
        assert ds.PhotometricInterpretation == "MONOCHROME2" and ds.BitsStored == 16
        assert np.array_equal(ds.pixel_array, stored_values(image))
        rescaled = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
        np.testing.assert_allclose(rescaled, image, rtol=0, atol=HALF_16_BIT_STEP + 1e-7)
    np.testing.assert_array_equal(datasets[0].pixel_array[0, :2], [0, 65535])
    volume = load_dicom(paths[1])
    assert volume.info.patient_name == "SYNTHETIC" and volume.info.modality == "OT"
    assert volume.array.shape == (1, 28, 28)
    np.testing.assert_allclose(volume.array[0], images[1], rtol=0, atol=HALF_16_BIT_STEP + 1e-7)


def test_every_dicom_file_gets_its_own_fresh_uids(images, tmp_path):
    import pydicom

    first = [pydicom.dcmread(path) for path in _write(images, tmp_path / "a", "dcm")]
    second = [pydicom.dcmread(path) for path in _write(images, tmp_path / "b", "dcm")]
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
        uids = [getattr(ds, keyword) for ds in first + second]
        assert len(set(uids)) == len(uids), keyword
    assert all(ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID for ds in first)


@pytest.mark.parametrize("fmt", ["png", "nii", "dcm"])
def test_an_existing_file_is_refused_by_name_and_nothing_changes(images, tmp_path, fmt):
    first = tmp_path / f"cxr-gan-seed11-0001-pneumonia.{fmt}"
    first.write_bytes(b"earlier work")
    with pytest.raises(MedStationError, match=str(first)):
        _write(images, tmp_path, fmt)
    assert first.read_bytes() == b"earlier work"
    assert sorted(os.listdir(tmp_path)) == [first.name]


def test_a_bad_out_dir_is_named(images, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(MedStationError, match="not-a-folder"):
        _write(images, blocker, "png")
    with pytest.raises(MedStationError, match="not-a-folder"):
        _write(images, blocker / "inside", "png")
    assert blocker.read_text() == "x"


@pytest.mark.parametrize(
    ("batch", "labels", "fmt", "message"),
    [
        (np.zeros((2, 28, 28), np.float32), ["normal"], "png", "one label per image"),
        (np.zeros((28, 28), np.float32), ["normal"], "png", r"\[N, rows, columns\]"),
        (np.full((1, 28, 28), 1.5, np.float32), ["normal"], "nii", r"\[0, 1\]"),
        (np.full((1, 28, 28), np.nan, np.float32), ["normal"], "dcm", r"\[0, 1\]"),
        (np.zeros((1, 28, 28), np.float32), ["normal"], "jpg", "png, nii, dcm"),
    ],
)
def test_bad_input_is_refused_before_anything_is_written(tmp_path, batch, labels, fmt, message):
    with pytest.raises(MedStationError, match=message):
        write_synthetic(batch, labels, tmp_path / "out", fmt, model="cxr-gan", seed=0)
    assert not (tmp_path / "out").exists()


def test_an_exported_selection_keeps_its_sample_numbers(images, tmp_path):
    import pydicom

    paths = write_synthetic(images[1:], LABELS[1:], tmp_path, "dcm", model="cxr-gan", seed=11, indices=[5, 9])
    assert [path.name for path in paths] == ["cxr-gan-seed11-0005-pneumonia.dcm", "cxr-gan-seed11-0009-normal.dcm"]
    assert "sample 9" in pydicom.dcmread(paths[1]).ImageComments
    with pytest.raises(MedStationError, match="distinct sample indices"):
        write_synthetic(images[1:], LABELS[1:], tmp_path / "b", "dcm", model="cxr-gan", seed=11, indices=[5, 5])


def test_cancelling_part_way_leaves_no_files(images, tmp_path):
    import threading

    from medstation.errors import Cancelled

    cancel = threading.Event()

    files_seen = []

    def progress(fraction, message):
        files_seen.append(len(os.listdir(tmp_path)))
        if fraction > 0.3:
            cancel.set()

    with pytest.raises(Cancelled):
        _write(images, tmp_path, "dcm", progress=progress, cancel=cancel)
    assert files_seen == [0, 1], "one file was written before the cancel, a second while it was asked"
    assert os.listdir(tmp_path) == []
