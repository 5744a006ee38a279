"""Exports get the mode any new file gets under the user's umask (0666 less the umask; folders 0777 less it), not
the private 0600 of the temporary file they are written to, and they are still written under a temporary name."""

from __future__ import annotations

import os
import stat

import pydicom
import pytest

from medstation.io.export.files import save_dicom
from medstation.io.export.series_export import export_series
from medstation.resources import resource_path

SAMPLE = resource_path("sample", "images", "sample-04.dcm")


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_saved_dicom_file_gets_the_umask_mode(tmp_path, umask):
    dicom = save_dicom(pydicom.dcmread(SAMPLE), tmp_path / "out" / "copy.dcm")
    assert _mode(dicom) == 0o666 & ~umask
    assert [path.name for path in dicom.parent.iterdir()] == ["copy.dcm"]


@pytest.mark.parametrize("fmt", ["dicom", "nifti", "png"])
def test_exported_series_files_and_folders_get_the_umask_modes(tmp_path, fmt):
    previous = os.umask(0o027)
    try:
        summary = export_series(SAMPLE, tmp_path / "out", fmt, anonymize=fmt == "dicom")
    finally:
        os.umask(previous)
    (output,) = summary.outputs
    paths = [output, *output.rglob("*")] if output.is_dir() else [output]
    assert len(paths) >= 1 + output.is_dir()
    for path in paths:
        assert _mode(path) == (0o750 if path.is_dir() else 0o640), path
