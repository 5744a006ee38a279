"""Series thumbnails come from the series' own middle image."""

from __future__ import annotations

import numpy as np

from medstation.io.dicom.series import load_dicom
from medstation.io.dicom.thumbnails import series_thumbnail, series_thumbnails


def test_thumbnail_is_a_downsampled_image_of_the_series(shared_path):
    folder = shared_path("dicom", "dcm_qa_ct", "In", "Philips_head_1mm")
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "DIRFILE")
    thumbnail = series_thumbnail(files)
    assert thumbnail.shape == (64, 64) and thumbnail.dtype == np.uint8
    volume = load_dicom(folder)
    reference = volume.array[:, ::8, ::8]
    correlations = [np.corrcoef(thumbnail.ravel(), np.clip(s, -200, 200).ravel())[0, 1] for s in reference]
    assert np.nanmax(correlations) > 0.95


def test_unreadable_series_get_no_thumbnail(tmp_path):
    bad = tmp_path / "bad.dcm"
    bad.write_bytes(b"not dicom")
    assert series_thumbnails({"bad": [bad], "empty": []}) == {}
