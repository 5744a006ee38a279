"""DICOM files to Volumes: scan a folder, DICOMDIR or file into series, then decode one with its LPS geometry.

Modules: :mod:`.scan` (find and group files), :mod:`.header` and :mod:`.lean_header` (read one header),
:mod:`.geometry` (sort slices, derive the affine), :mod:`.pixels` and :mod:`.rescale` (decode and rescale voxels),
:mod:`.series` (the verbs below), :mod:`.preview`, :mod:`.thumbnails`, :mod:`.mosaic`, :mod:`.values`,
:mod:`.series_selection`.
"""

from medstation.io.dicom.series import (
    ScanResult,
    SeriesRecord,
    describe_series,
    largest_series,
    load_dicom,
    load_series,
    scan_dicom,
    volume_info,
)

__all__ = ["ScanResult", "SeriesRecord", "describe_series", "largest_series", "load_dicom", "load_series",
           "scan_dicom", "volume_info"]
