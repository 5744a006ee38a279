"""Damaged real DICOM files: a MedStationError naming the file, never a crash, and the rest still loads."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from pydicom import dcmread

from medstation.errors import MedStationError, UnreadableInput
from medstation.io.dicom import largest_series, load_series, scan_dicom

SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
DICOM = SHARED_DATA / "dicom"
GE_CT = DICOM / "dcm_qa_ct" / "In" / "GE"
COMMITTED_DICOM = Path(__file__).resolve().parents[1] / "data" / "dicom"
SAMPLES = {
    "classic CT": COMMITTED_DICOM / "ge_tilt" / "15.dcm",
    "mosaic": COMMITTED_DICOM / "siemens_mosaic" / "1.dcm",
    "big endian": DICOM / "dcm_qa_ts" / "In" / "3.dcm",
    "RLE": DICOM / "dcm_qa_ts" / "In" / "4.dcm",
    "JPEG 2000": DICOM / "dcm_qa_ts" / "In" / "9.dcm",
    "enhanced": DICOM / "dcm_qa_enh" / "In" / "Siemens" / "XA10" / "6_1.dcm",
}
SECONDS_PER_FILE = 5.0

needs_shared_suites = pytest.mark.skipif(not DICOM.is_dir(), reason=f"real DICOM suites not found at {DICOM}")


def _mutations(data: bytes, seed: int) -> list[tuple[str, bytes]]:
    """Truncations at many lengths and runs of random bytes written over the header and the pixel data."""
    rng = np.random.default_rng(seed)
    cases = [(f"truncated to {n} bytes", data[:n]) for n in (0, 1, 131, 132, 200, 600, 2000)]
    cases += [(f"truncated to {f:.0%}", data[: int(len(data) * f)]) for f in (0.3, 0.6, 0.9, 0.999)]
    for case in range(24):
        start = int(rng.integers(128, len(data) - 16))
        length = int(rng.integers(1, 16))
        mutated = bytearray(data)
        mutated[start : start + length] = rng.integers(0, 256, length, dtype=np.uint8).tobytes()
        cases.append((f"random bytes #{case} at {start}", bytes(mutated)))
    return cases


def _load_all(path: Path):
    return [load_series(series) for series in scan_dicom(path).series]


@pytest.mark.parametrize("kind", list(SAMPLES))
def test_mutated_files_load_or_fail_cleanly(tmp_path, kind):
    source = SAMPLES[kind]
    if not source.is_file():
        pytest.skip(f"sample file not found at {source}")
    outcomes = {"loaded": 0, "refused": 0}
    for number, (description, data) in enumerate(_mutations(source.read_bytes(), seed=number_seed(kind))):
        path = tmp_path / f"case{number:03d}.dcm"
        path.write_bytes(data)
        started = time.perf_counter()
        try:
            _load_all(path)
            outcomes["loaded"] += 1
        except MedStationError as error:
            assert path.name in str(error), f"{kind}, {description}: message does not name the file: {error}"
            outcomes["refused"] += 1
        except Exception as error:  # pragma: no cover - the failure message is the point
            pytest.fail(f"{kind}, {description}: {type(error).__name__}: {error}")
        assert time.perf_counter() - started < SECONDS_PER_FILE, f"{kind}, {description}: too slow"
    assert outcomes["refused"] >= 11, outcomes  # every truncation is refused


def number_seed(kind: str) -> int:
    return sum(kind.encode())


def test_absurd_dimensions_are_refused_before_allocating(tmp_path):
    dataset = dcmread(SAMPLES["classic CT"])
    dataset.Rows = dataset.Columns = 65535
    dataset.NumberOfFrames = 60000
    path = tmp_path / "huge.dcm"
    dataset.save_as(path)
    with pytest.raises(UnreadableInput, match=r"huge\.dcm.*(implausible|truncated)"):
        scan_dicom(path)


def test_missing_pixel_data_is_refused(tmp_path):
    dataset = dcmread(SAMPLES["classic CT"])
    del dataset.PixelData
    path = tmp_path / "nopixels.dcm"
    dataset.save_as(path)
    with pytest.raises(UnreadableInput, match=r"nopixels\.dcm.*no pixel data"):
        scan_dicom(path)


@needs_shared_suites
def test_folder_with_damaged_files_loads_the_good_ones_exactly(tmp_path):
    damaged, clean = tmp_path / "damaged", tmp_path / "clean"
    shutil.copytree(GE_CT, damaged)
    shutil.copytree(GE_CT, clean)
    bad_names = ["03.dcm", "10.dcm", "20.dcm"]
    for name in bad_names:
        (clean / name).unlink()
    data = (damaged / "03.dcm").read_bytes()
    (damaged / "03.dcm").write_bytes(data[: len(data) // 2])
    (damaged / "10.dcm").write_bytes(data[:300])
    (damaged / "20.dcm").write_bytes(b"\0" * 1000)
    (damaged / "README.txt").write_text("scanner export notes")
    before = {path.name: path.read_bytes() for path in damaged.iterdir()}

    scan = scan_dicom(damaged)

    assert sorted(Path(path).name for path, _ in scan.skipped) == [*bad_names, "README.txt"]
    assert len(scan.series) == 1 and scan.series[0].n_files == 25
    volume = load_series(scan.series[0])
    expected = load_series(scan_dicom(clean).series[0])
    np.testing.assert_array_equal(volume.array, expected.array)
    np.testing.assert_allclose(volume.affine, expected.affine)
    assert volume.warnings == expected.warnings
    assert {path.name: path.read_bytes() for path in damaged.iterdir()} == before


@needs_shared_suites
def test_dicomdir_index_in_a_folder_is_neither_an_image_nor_a_skipped_file():
    folder = DICOM / "dcm_qa_ct" / "In" / "Philips_tilt_neg18"
    scan = scan_dicom(folder)
    assert scan.skipped == []
    assert [series.n_files for series in scan.series] == [54]


@needs_shared_suites
def test_dicomdir_whose_folder_tree_was_flattened_names_each_missing_file():
    dicomdir = DICOM / "dcm_qa_ct" / "In" / "Philips_tilt_neg18" / "DIRFILE"
    scan = scan_dicom(dicomdir)
    assert scan.series == []
    assert len(scan.skipped) == 54
    assert all("not found (moved or deleted since it was listed)" in reason for _, reason in scan.skipped)
    with pytest.raises(UnreadableInput, match="no DICOM image series found"):
        largest_series(scan)
