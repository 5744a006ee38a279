"""Opening a path as a Volume, as the workstation and the commands do: folder (indexed first), volume file, picture,
DICOM file or series, a database series."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from medstation.errors import UnreadableInput
from medstation.io.database import StudyDatabase
from medstation.io.dicom.series import load_dicom, scan_dicom
from medstation.io.formats import DICOM, IMAGE_FORMATS, VOLUME_SUFFIXES, format_of
from medstation.io.open_study import open_files, open_image, open_path


def test_a_folder_is_indexed_then_its_largest_series_loaded(tmp_path, shared_path):
    folder = tmp_path / "ts"
    shutil.copytree(shared_path("dicom", "dcm_qa_ts", "In"), folder)
    (folder / "junk.bin").write_bytes(b"\x00" * 500)
    opened = open_path(folder, tmp_path / "db.sqlite")
    assert opened.imported is not None and opened.imported.read == 10
    assert [path for path, _ in opened.skipped] == [str(folder / "junk.bin")]
    assert opened.volume.array.shape == (35, 64, 64)


def test_a_series_listed_by_the_database_loads_like_its_folder(tmp_path, shared_path):
    source = shared_path("dicom", "dcm_qa_ct", "In", "GE")
    database_path = tmp_path / "db.sqlite"
    with StudyDatabase(database_path) as database:
        database.import_folder(source)
        (study,) = database.studies()
        (series,) = database.series(study.study_uid)
        files = database.series_files(series)
    opened = open_files(files)
    reference = load_dicom(source)
    np.testing.assert_array_equal(opened.volume.array, reference.array)
    np.testing.assert_allclose(opened.volume.affine, reference.affine)


def test_a_nifti_file_opens_without_the_database(tmp_path, shared_path):
    opened = open_path(shared_path("nifti", "MR_Gd.nii.gz"), tmp_path / "db.sqlite")
    assert opened.imported is None and opened.volume.array.ndim == 3
    assert not (tmp_path / "db.sqlite").exists()


def _picture(path, array) -> None:
    from PIL import Image

    Image.fromarray(array).save(path)


def test_a_picture_opens_as_one_slice_without_patient_geometry(tmp_path):
    grey = tmp_path / "grey.PNG"
    _picture(grey, (np.arange(48 * 64).reshape(48, 64) % 251).astype(np.uint8))
    colour = tmp_path / "colour.png"
    _picture(colour, np.stack([np.full((8, 8), value, np.uint8) for value in (10, 120, 240)], axis=-1))
    opened = open_path(grey, tmp_path / "db.sqlite")
    assert opened.volume.array.shape == (1, 48, 64) and opened.skipped == []
    assert not opened.volume.has_patient_geometry and not opened.volume.spacing_known
    assert not (tmp_path / "db.sqlite").exists()
    rgb = open_image(colour).volume
    assert rgb.is_rgb and rgb.array.shape == (1, 8, 8, 3)


def test_a_dicom_series_is_chosen_by_number_and_an_unknown_one_names_the_path(shared_path):
    path = shared_path("dicom", "dcm_qa_ts", "In")
    scan = scan_dicom(path)
    wanted = scan.series[1]
    opened = open_image(path, wanted.identity.series_number)
    assert opened.volume.info.series_uid == wanted.identity.series_uid
    with pytest.raises(UnreadableInput, match=rf"^{re.escape(str(path))}: no series '999'"):
        open_image(path, "999")


def test_skipped_files_are_handed_over_before_a_folder_without_series_fails(tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.dcm").write_text("not an image")
    (folder / "b.txt").write_text("nor this")
    handed: list = []
    with pytest.raises(UnreadableInput, match=rf"^{re.escape(str(folder))}: no DICOM image series found"):
        open_image(folder, on_skipped=handed.extend)
    assert sorted(Path(path).name for path, _ in handed) == ["a.dcm", "b.txt"]


def test_a_missing_path_is_named(tmp_path):
    for name in ("scan.nii.gz", "picture.png", "folder"):
        with pytest.raises(UnreadableInput, match=rf"{name}: no such file or folder"):
            open_image(tmp_path / name)


def test_each_format_is_told_by_its_suffix_in_any_case_and_dicom_otherwise(tmp_path):
    for image_format in IMAGE_FORMATS:
        for suffix in image_format.suffixes:
            assert format_of(tmp_path / f"image{suffix.upper()}") == image_format
    for name in ("IM0001", "image.DCM", "DICOMDIR", "scan.nii.bak"):
        assert format_of(tmp_path / name) == DICOM
    (folder := tmp_path / "series.nii").mkdir()
    assert format_of(folder) == DICOM
    assert VOLUME_SUFFIXES == (".nii", ".nii.gz", ".hdr", ".img", ".mgh", ".mgz", ".nrrd", ".nhdr", ".mha", ".mhd")
