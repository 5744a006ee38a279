"""The bundled sample study: its real radiographs are the originals' JPEGs inside DICOM DX files, shown with the
pixels Pillow decodes, without an invented pixel size, and labelled truly; the workstation opens one first."""

from __future__ import annotations

import csv
import io

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.encaps import generate_frames

from medstation.core.measurements import PIXELS, Ruler, length_text
from medstation.core.view_state import ViewState
from medstation.io.dicom.pixels import JPEG_BASELINE
from medstation.io.open_study import open_image
from medstation.resources import resource_path
from medstation.ui.app import sample_study

SAMPLE = resource_path("sample")
RADIOGRAPHS = sorted((SAMPLE / "images").glob("cxr-*.dcm"))


def _rows() -> dict[str, dict[str, str]]:
    with (SAMPLE / "labels.csv").open(newline="", encoding="utf-8") as stream:
        return {row["path"]: row for row in csv.DictReader(stream)}


def _jpeg(dataset: pydicom.Dataset) -> bytes:
    (frame,) = generate_frames(dataset.PixelData, number_of_frames=1)
    return frame


def test_the_sample_holds_six_thumbnails_and_twelve_radiographs_each_labelled():
    rows = _rows()
    assert len(RADIOGRAPHS) == 12
    assert len(list((SAMPLE / "images").glob("sample-*.dcm"))) == 6
    assert set(rows) == {f"images/{path.name}" for path in (SAMPLE / "images").glob("*.dcm")}
    radiographs = [rows[f"images/{path.name}"] for path in RADIOGRAPHS]
    assert [row["label"] for row in radiographs] == ["normal"] * 6 + ["pneumonia"] * 6
    assert {row["finding"] for row in radiographs} == {"normal", "bacteria", "virus"}
    for row in radiographs:
        assert (row["finding"] == "normal") == (row["label"] == "normal")
        assert row["split"] == "test"


@pytest.mark.parametrize("path", RADIOGRAPHS, ids=lambda path: path.name)
def test_a_radiograph_is_its_jpeg_in_a_dx_file_shown_with_the_pixels_pillow_decodes(path):
    dataset = pydicom.dcmread(path)
    assert dataset.file_meta.TransferSyntaxUID == JPEG_BASELINE
    assert (dataset.Modality, dataset.PhotometricInterpretation, dataset.SamplesPerPixel) == ("DX", "MONOCHROME2", 1)
    assert list(dataset.PatientOrientation) == ["L", "F"]
    assert "PixelSpacing" not in dataset and "ImagerPixelSpacing" not in dataset
    assert dataset.PatientName == "SAMPLE^CXR" and dataset.PatientIdentityRemoved == "YES"
    with Image.open(io.BytesIO(_jpeg(dataset))) as picture:
        assert (picture.format, picture.mode) == ("JPEG", "L")
        expected = np.asarray(picture)
    volume = open_image(path).volume
    assert volume.array.shape == (1, *expected.shape)
    np.testing.assert_array_equal(volume.array[0], expected)
    assert not volume.spacing_known


def test_each_radiograph_is_its_own_series_of_one_study():
    datasets = [pydicom.dcmread(path, stop_before_pixels=True) for path in RADIOGRAPHS]
    assert len({ds.SeriesInstanceUID for ds in datasets}) == 12
    assert len({ds.StudyInstanceUID for ds in datasets}) == 1
    assert [ds.SeriesNumber for ds in datasets] == list(range(1, 13))


def test_the_encapsulated_jpegs_are_the_originals_unchanged_and_labelled_as_the_data_set_says(shared_path):
    folder = shared_path("cxr-kermany")
    with (folder / "labels.csv").open(newline="", encoding="utf-8") as stream:
        truth = {row["file"].split("/")[-1]: row for row in csv.DictReader(stream)}
    rows = _rows()
    for path in RADIOGRAPHS:
        row = rows[f"images/{path.name}"]
        original = (folder / "originals" / row["source"]).read_bytes()
        fragment = _jpeg(pydicom.dcmread(path))
        assert fragment[:len(original)] == original, path.name
        assert fragment[len(original):] in (b"", b"\0"), "at most DICOM's one padding byte to an even length"
        assert (row["label"], row["finding"], row["split"]) == (
            truth[row["source"]]["label"], truth[row["source"]]["finding"], truth[row["source"]]["split"])


def test_the_first_launch_opens_a_real_radiograph_and_its_ruler_says_px(qtbot):
    from medstation.ui.viewer.slice_view import SliceView

    volume = open_image(sample_study()).volume
    assert volume.info.series_description.startswith("Chest radiograph")
    assert min(volume.array.shape[1:]) > 500
    state = ViewState(volume)
    assert state.edge_labels("axial")["right"] == "L" and state.edge_labels("axial")["bottom"] == "F"
    view = SliceView(state, "axial")
    qtbot.addWidget(view)
    ruler = view.measure("ruler", 10.0, 10.0, 310.0, 410.0)
    view.detach()
    assert isinstance(ruler, Ruler) and ruler.unit == PIXELS
    assert length_text(ruler) == "500.0 px"
