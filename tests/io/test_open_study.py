"""Opening studies as the workstation does: folder (indexed first), volume file, a database series."""

from __future__ import annotations

import shutil

import numpy as np

from medstation.io.database import StudyDatabase
from medstation.io.dicom.series import load_dicom
from medstation.io.open_study import open_files, open_path


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
