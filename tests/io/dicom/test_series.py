"""DICOM loading on small series written here with pydicom, so these run without ../shared."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

import numpy as np
import pytest
from dicom_studies import ct_slice, write_ct_series
from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    RLELossless,
    SecondaryCaptureImageStorage,
    generate_uid,
)

from medstation.errors import Cancelled, UnreadableInput
from medstation.io.dicom.series import describe_series, largest_series, load_series, scan_dicom

ROWS, COLUMNS = 6, 5
STUDY_UID = generate_uid()


def write_slice(
    path: Path,
    pixels: np.ndarray,
    position: tuple[float, float, float],
    *,
    series_uid: str,
    series_number: int = 1,
    instance: int = 1,
    orientation: tuple[float, ...] = (1, 0, 0, 0, 1, 0),
    intercept: float = -1024.0,
    photometric: str = "MONOCHROME2",
    transfer_syntax: str = ExplicitVRLittleEndian,
    acquisition: int = 1,
) -> Path:
    """Write one CT slice (uint16 stored) at an LPS ``position`` in mm."""
    dataset = ct_slice(pixels, position, study_uid=STUDY_UID, series_uid=series_uid, series_number=series_number,
                       instance=instance, orientation=orientation, pixel_spacing=(0.5, 0.75), intercept=intercept,
                       photometric=photometric)
    meta = dataset.file_meta
    dataset.AcquisitionNumber, dataset.StudyID, dataset.AccessionNumber = acquisition, "1", ""
    dataset.ReferringPhysicianName = ""
    if transfer_syntax == ExplicitVRBigEndian:
        dataset.PixelData = pixels.astype(">u2").tobytes()
        meta.TransferSyntaxUID = transfer_syntax
        dataset.save_as(path, implicit_vr=False, little_endian=False, enforce_file_format=True)
        return path
    if transfer_syntax != ExplicitVRLittleEndian:
        dataset.compress(transfer_syntax, pixels.astype(np.uint16))
    dataset.save_as(path, enforce_file_format=True)
    return path


def slice_pixels(k: int, t: int = 0) -> np.ndarray:
    """A recognisable stored image: every voxel encodes slice k and volume t."""
    base = 1000 + 100 * k + 10 * t
    return base + np.arange(ROWS * COLUMNS, dtype=np.uint16).reshape(ROWS, COLUMNS) % 7


def write_series(folder: Path, n_slices: int = 4, step: float = 2.0, **options) -> list[Path]:
    """Slices at z = 10 + k*step, written with reversed InstanceNumbers and shuffled file names."""
    folder.mkdir(parents=True, exist_ok=True)
    series_uid = options.pop("series_uid", generate_uid())
    names = [f"file{(k * 7) % n_slices:03d}.dcm" for k in range(n_slices)]
    return [
        write_slice(folder / names[k], slice_pixels(k), (-10.0, -20.0, 10.0 + k * step), series_uid=series_uid,
                    instance=n_slices - k, **options)
        for k in range(n_slices)
    ]


def expected_hu(n_slices: int) -> np.ndarray:
    return np.stack([slice_pixels(k).astype(np.int32) - 1024 for k in range(n_slices)])


def test_slices_are_sorted_by_position_and_rescaled_to_int16(tmp_path):
    write_series(tmp_path, n_slices=5)
    scan = scan_dicom(tmp_path)
    assert len(scan.series) == 1 and scan.skipped == []
    volume = load_series(scan.series[0])
    assert volume.array.dtype == np.int16
    np.testing.assert_array_equal(volume.array, expected_hu(5))
    assert volume.spacing == pytest.approx((0.75, 0.5, 2.0))
    np.testing.assert_allclose(volume.origin, [-10.0, -20.0, 10.0])
    assert volume.orientation == "LPS"
    assert volume.warnings == []
    assert volume.info.window_presets[0].center == 40 and volume.info.window_presets[0].width == 400
    assert volume.info.patient_name == "Test^Patient" and volume.info.modality == "CT"
    assert volume.has_patient_geometry and volume.info.patient_orientation is None


def test_repeated_positions_make_a_time_axis_in_acquisition_order(tmp_path):
    series_uid = generate_uid()
    for t in (1, 0):
        for k in range(3):
            write_slice(tmp_path / f"t{t}k{k}.dcm", slice_pixels(k, t), (0, 0, 5.0 * k), series_uid=series_uid,
                        instance=1 + k + 3 * t, acquisition=t + 1)
    volume = load_series(scan_dicom(tmp_path).series[0])
    assert volume.array.shape == (2, 3, ROWS, COLUMNS)
    for t in range(2):
        for k in range(3):
            np.testing.assert_array_equal(volume.array[t, k], slice_pixels(k, t).astype(np.int32) - 1024)


def test_missing_slice_and_irregular_spacing_are_reported(tmp_path):
    series_uid = generate_uid()
    for k, z in enumerate([0.0, 2.0, 4.0, 8.0, 10.0]):
        write_slice(tmp_path / f"{k}.dcm", slice_pixels(k), (0, 0, z), series_uid=series_uid)
    volume = load_series(scan_dicom(tmp_path).series[0])
    assert any(warning.startswith("Missing slices") and "slices 3 and 4" in warning for warning in volume.warnings)
    np.testing.assert_allclose(volume.slice_positions[:, 2], [0, 2, 4, 8, 10])

    irregular = tmp_path / "irregular"
    irregular.mkdir()
    series_uid = generate_uid()
    for k, z in enumerate([0.0, 2.0, 3.1, 5.1, 7.1]):
        write_slice(irregular / f"{k}.dcm", slice_pixels(k), (0, 0, z), series_uid=series_uid)
    volume = load_series(scan_dicom(irregular).series[0])
    assert any(warning.startswith("Uneven slice spacing") for warning in volume.warnings)


def test_monochrome1_is_flagged_not_inverted(tmp_path):
    write_series(tmp_path, n_slices=2, photometric="MONOCHROME1")
    volume = load_series(scan_dicom(tmp_path).series[0])
    assert volume.info.invert_display
    np.testing.assert_array_equal(volume.array, expected_hu(2))


@pytest.mark.parametrize("transfer_syntax", [ExplicitVRBigEndian, RLELossless])
def test_other_transfer_syntaxes_give_the_same_native_voxels(tmp_path, transfer_syntax):
    write_series(tmp_path, n_slices=3, transfer_syntax=transfer_syntax)
    volume = load_series(scan_dicom(tmp_path).series[0])
    assert volume.array.dtype.isnative
    np.testing.assert_array_equal(volume.array, expected_hu(3))


def test_one_uid_with_two_series_numbers_is_two_series(tmp_path):
    series_uid = generate_uid()
    write_series(tmp_path / "a", n_slices=2, series_uid=series_uid, series_number=1)
    write_series(tmp_path / "b", n_slices=3, series_uid=series_uid, series_number=2)
    scan = scan_dicom(tmp_path)
    assert [(s.identity.series_number, s.n_files) for s in scan.series] == [(1, 2), (2, 3)]
    assert largest_series(scan).identity.series_number == 2


def test_two_orientations_in_one_series_are_split_with_a_warning(tmp_path):
    series_uid = generate_uid()
    write_series(tmp_path / "axial", n_slices=3, series_uid=series_uid)
    coronal = (1, 0, 0, 0, 0, -1)
    for k in range(2):
        write_slice(tmp_path / f"coronal{k}.dcm", slice_pixels(k), (0, 3.0 * k, 0), series_uid=series_uid,
                    orientation=coronal)
    scan = scan_dicom(tmp_path)
    assert len(scan.series) == 2
    assert all("mixed series split into 2 parts by orientation" in s.warnings for s in scan.series)
    shapes = sorted(load_series(series).array.shape for series in scan.series)
    assert shapes == [(2, ROWS, COLUMNS), (3, ROWS, COLUMNS)]


def test_rgb_secondary_capture_keeps_colour_samples(tmp_path):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset = Dataset()
    dataset.file_meta = meta
    dataset.SOPClassUID, dataset.SOPInstanceUID = SecondaryCaptureImageStorage, meta.MediaStorageSOPInstanceUID
    dataset.StudyInstanceUID, dataset.SeriesInstanceUID, dataset.SeriesNumber = STUDY_UID, generate_uid(), 9
    dataset.Modality = "OT"
    dataset.Rows, dataset.Columns, dataset.SamplesPerPixel = 4, 3, 3
    dataset.PhotometricInterpretation, dataset.PlanarConfiguration = "RGB", 0
    dataset.BitsAllocated, dataset.BitsStored, dataset.HighBit, dataset.PixelRepresentation = 8, 8, 7, 0
    rgb = np.arange(4 * 3 * 3, dtype=np.uint8).reshape(4, 3, 3)
    dataset.PixelData = rgb.tobytes()
    dataset.save_as(tmp_path / "rgb.dcm", enforce_file_format=True)
    volume = load_series(scan_dicom(tmp_path / "rgb.dcm").series[0])
    assert volume.is_rgb and volume.array.shape == (1, 4, 3, 3) and volume.array.dtype == np.uint8
    np.testing.assert_array_equal(volume.array[0], rgb)
    assert any("No patient position" in warning for warning in volume.warnings)


def test_damaged_files_are_skipped_with_reasons_and_the_rest_loads_unchanged(tmp_path):
    clean = tmp_path / "clean"
    paths = write_series(clean, n_slices=4)
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    for path in paths:
        (damaged / path.name).write_bytes(path.read_bytes())
    extra = write_slice(tmp_path / "extra.dcm", slice_pixels(9), (-10.0, -20.0, 18.0),
                        series_uid=scan_dicom(clean).series[0].identity.series_uid)
    full = extra.read_bytes()
    (damaged / "truncated.dcm").write_bytes(full[: len(full) - 20])
    (damaged / "header_only.dcm").write_bytes(full[:200])
    (damaged / "notes.txt").write_text("not an image")
    (damaged / "empty.dcm").write_bytes(b"")
    (damaged / "garbage.dcm").write_bytes(b"DICM" * 300)
    before = {path.name: path.read_bytes() for path in damaged.iterdir()}

    scan = scan_dicom(damaged)

    skipped = {Path(path).name: reason for path, reason in scan.skipped}
    assert set(skipped) == {"truncated.dcm", "header_only.dcm", "notes.txt", "empty.dcm", "garbage.dcm"}
    for name, reason in skipped.items():
        assert name in reason
    assert "truncated" in skipped["truncated.dcm"]
    volume = load_series(largest_series(scan))
    np.testing.assert_array_equal(volume.array, load_series(scan_dicom(clean).series[0]).array)
    assert {path.name: path.read_bytes() for path in damaged.iterdir()} == before


def test_a_single_unreadable_file_raises_naming_it(tmp_path):
    path = tmp_path / "bad.dcm"
    path.write_bytes(b"\x00" * 64)
    with pytest.raises(UnreadableInput, match=re.escape("bad.dcm")):
        scan_dicom(path)
    with pytest.raises(UnreadableInput, match="no such"):
        scan_dicom(tmp_path / "missing")
    with pytest.raises(UnreadableInput, match="no DICOM image series"):
        largest_series(scan_dicom(tmp_path))


def test_file_damaged_after_the_scan_fails_the_load_naming_it(tmp_path):
    paths = write_series(tmp_path, n_slices=3)
    scan = scan_dicom(tmp_path)
    data = paths[1].read_bytes()
    paths[1].write_bytes(data[: len(data) - 10])
    with pytest.raises(UnreadableInput, match=re.escape(paths[1].name)):
        load_series(scan.series[0])


def test_progress_is_reported_and_cancel_stops_the_work(tmp_path):
    write_series(tmp_path, n_slices=3)
    fractions: list[float] = []
    scan = scan_dicom(tmp_path, progress=lambda fraction, message: fractions.append(fraction))
    load_series(scan.series[0], progress=lambda fraction, message: fractions.append(fraction))
    assert fractions[-1] == 1.0 and all(0.0 <= f <= 1.0 for f in fractions)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        scan_dicom(tmp_path, cancel=cancel)
    with pytest.raises(Cancelled):
        load_series(scan.series[0], cancel=cancel)


def test_series_description_is_json_ready(tmp_path):
    write_series(tmp_path, n_slices=3)
    series = scan_dicom(tmp_path).series[0]
    description = json.loads(json.dumps(describe_series(series)))
    assert description["shape"] == [3, ROWS, COLUMNS]
    assert description["spacing"] == [0.75, 0.5, 2.0]
    assert description["orientation"] == "LPS"
    assert description["files"] == 3 and description["series_number"] == 1
    assert description == json.loads(json.dumps(describe_series(series, load_series(series))))


def test_dicomdir_lists_the_series_and_is_ignored_in_a_folder_scan(tmp_path):
    from pydicom.fileset import FileSet

    sources = write_series(tmp_path / "export", n_slices=3)
    file_set = FileSet()
    for path in sources:
        file_set.add(path)
    file_set.write(tmp_path / "media")
    dicomdir = tmp_path / "media" / "DICOMDIR"
    via_index = scan_dicom(dicomdir)
    via_folder = scan_dicom(tmp_path / "media")
    assert via_index.skipped == [] and via_folder.skipped == []
    assert [s.n_files for s in via_index.series] == [s.n_files for s in via_folder.series] == [3]
    np.testing.assert_array_equal(load_series(via_index.series[0]).array, expected_hu(3))


def test_files_a_dicomdir_names_but_lacks_are_skipped_with_a_reason(tmp_path):
    from pydicom.fileset import FileSet

    file_set = FileSet()
    for path in write_series(tmp_path / "export", n_slices=2):
        file_set.add(path)
    file_set.write(tmp_path / "media")
    missing = next(path for path in (tmp_path / "media").rglob("*") if path.is_file() and path.name != "DICOMDIR")
    missing.unlink()
    scan = scan_dicom(tmp_path / "media" / "DICOMDIR")
    ((path, reason),) = scan.skipped
    assert path == tmp_path / "media" / "DICOMDIR"
    assert f"1 of the 2 files this DICOMDIR names are not there (first: {missing.relative_to(path.parent)})" in reason
    assert [s.n_files for s in scan.series] == [1]


def test_signed_and_unsigned_files_in_one_series_are_widened_not_wrapped(tmp_path):
    from pydicom import dcmread

    paths = write_series(tmp_path, n_slices=2, intercept=0)
    dataset = dcmread(paths[0])
    dataset.PixelRepresentation = 1
    dataset.PixelData = np.full((ROWS, COLUMNS), -5, dtype="<i2").tobytes()
    dataset.save_as(paths[0])
    volume = load_series(scan_dicom(tmp_path).series[0])
    assert volume.array.dtype == np.int16
    np.testing.assert_array_equal(volume.array[0], -5)
    np.testing.assert_array_equal(volume.array[1], slice_pixels(1))


def test_the_window_most_slices_carry_comes_first_not_the_first_files(tmp_path):
    write_series(tmp_path, n_slices=5)
    first = scan_dicom(tmp_path).series[0].frames[0].path
    dataset = dcmread(first)
    dataset.WindowCenter, dataset.WindowWidth = "210", "502"
    dataset.save_as(first)
    volume = load_series(scan_dicom(tmp_path).series[0])
    assert [(preset.center, preset.width) for preset in volume.info.window_presets] == [(40, 400), (210, 502)]


def test_the_frame_of_reference_reaches_the_volume(tmp_path):
    write_ct_series(tmp_path, study_uid=generate_uid(), study_date="20240102", frame_of_reference="1.2.3.4.5")
    volume = load_series(scan_dicom(tmp_path).series[0])
    assert volume.info.frame_of_reference_uid == "1.2.3.4.5"
