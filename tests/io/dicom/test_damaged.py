"""Damaged real DICOM files: a MedStationError naming the file, never a crash, and the rest still loads."""

from __future__ import annotations

import faulthandler
import shutil
import signal
import zlib
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from dicom_mutations import mutations
from pydicom import dcmread

from medstation.errors import MedStationError, UnreadableInput
from medstation.io.database import StudyDatabase
from medstation.io.dicom.series import largest_series, load_series, scan_dicom

SHARED_DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"
DICOM = SHARED_DATA / "dicom"
GE_CT = DICOM / "dcm_qa_ct" / "In" / "GE"
COMMITTED_DICOM = Path(__file__).resolve().parents[2] / "data" / "dicom"
CLASSIC_CT = COMMITTED_DICOM / "ge_tilt" / "15.dcm"
NEIGHBOUR = COMMITTED_DICOM / "ge_tilt" / "14.dcm"
# sample: (folder under tests/data/dicom or ../shared/data/dicom, file)
SAMPLES = {
    "classic CT": ("committed", "ge_tilt/15.dcm"),
    "mosaic": ("committed", "siemens_mosaic/1.dcm"),
    "implicit VR": ("shared", "dcm_qa_ts/In/2.dcm"),
    "big endian": ("shared", "dcm_qa_ts/In/3.dcm"),
    "RLE": ("shared", "dcm_qa_ts/In/4.dcm"),
    "JPEG 2000": ("shared", "dcm_qa_ts/In/9.dcm"),
    "enhanced": ("shared", "dcm_qa_enh/In/Siemens/XA10/6_1.dcm"),
}
# A hang guard, not a measurement: far above what any case takes.
HANG_SECONDS = 20.0

needs_shared_suites = pytest.mark.skipif(not DICOM.is_dir(), reason=f"real DICOM suites not found at {DICOM}")


@contextmanager
def _hang_guard(hung: list[str], case: str):
    """Interrupt a case that runs for HANG_SECONDS, and remember it even if the reader swallows the interrupt.

    Without an alarm signal (Windows), a hang ends the test run with every thread's traceback instead.
    """
    if not hasattr(signal, "setitimer"):
        faulthandler.dump_traceback_later(HANG_SECONDS, exit=True)
        try:
            yield
        finally:
            faulthandler.cancel_dump_traceback_later()
        return

    def alarm(signum, frame):
        hung.append(case)
        raise TimeoutError(f"{case}: still running after {HANG_SECONDS} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, HANG_SECONDS)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _load_all(path: Path):
    return [load_series(series) for series in scan_dicom(path).series]


def _sane(volume) -> bool:
    """A loaded volume can be displayed and placed: finite voxels-to-patient affine that can be inverted."""
    return bool(np.all(np.isfinite(volume.affine)) and abs(np.linalg.det(volume.affine[:3, :3])) > 1e-12)


def _outcome(path: Path, case: str) -> str:
    """'loaded' or 'refused'; any other outcome fails the test, naming the case."""
    try:
        volumes = _load_all(path)
    except MedStationError as error:
        assert path.name in str(error), f"{case}: the message does not name the file: {error}"
        return "refused"
    except Exception as error:
        pytest.fail(f"{case}: {type(error).__name__}: {error}")
    assert all(_sane(volume) for volume in volumes), f"{case}: loaded with an unusable affine"
    return "loaded"


def _rest_of_folder_still_scans(folder: Path, damaged: Path, intact: Path, case: str) -> None:
    scan = scan_dicom(folder)
    in_series = {path for series in scan.series for path in series.paths}
    assert intact in in_series, f"{case}: the intact file next to the damaged one was not found"
    skipped = {path: reason for path, reason in scan.skipped}
    assert damaged in in_series or damaged.name in skipped.get(damaged, ""), f"{case}: {skipped}"


def _sample(kind: str, shared_path) -> Path:
    where, relative = SAMPLES[kind]
    return COMMITTED_DICOM / relative if where == "committed" else shared_path("dicom", *relative.split("/"))


@pytest.mark.parametrize("kind", list(SAMPLES))
def test_damaged_variants_load_or_are_refused_naming_the_file(tmp_path, kind, shared_path):
    """Hundreds of seeded mutations of real files: never a crash or a hang; the intact neighbour still scans."""
    cases = mutations(_sample(kind, shared_path).read_bytes(), seed=zlib.crc32(kind.encode()))
    intact = tmp_path / "intact.dcm"
    intact.write_bytes(NEIGHBOUR.read_bytes())
    outcomes: dict[str, Counter] = {}
    hung: list[str] = []
    for number, (family, description, data) in enumerate(cases):
        case = f"{kind}, {family}: {description}"
        damaged = tmp_path / f"case{number:03d}.dcm"
        damaged.write_bytes(data)
        with _hang_guard(hung, case):
            outcome = _outcome(damaged, case)
            _rest_of_folder_still_scans(tmp_path, damaged, intact, case)
        outcomes.setdefault(family, Counter())[outcome] += 1
        damaged.unlink()
    assert hung == []
    assert len(cases) >= 150
    assert outcomes["truncation"]["loaded"] == 0, outcomes
    assert outcomes["missing pixel data"]["loaded"] == 0, outcomes


def test_absurd_dimensions_are_refused_before_allocating(tmp_path):
    dataset = dcmread(CLASSIC_CT)
    dataset.Rows = dataset.Columns = 65535
    dataset.NumberOfFrames = 60000
    path = tmp_path / "huge.dcm"
    dataset.save_as(path)
    with pytest.raises(UnreadableInput, match=r"huge\.dcm.*(implausible|truncated)"):
        scan_dicom(path)


def test_missing_pixel_data_is_refused(tmp_path):
    dataset = dcmread(CLASSIC_CT)
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
def test_dicomdir_whose_folder_tree_was_flattened_is_reported_once():
    dicomdir = DICOM / "dcm_qa_ct" / "In" / "Philips_tilt_neg18" / "DIRFILE"
    scan = scan_dicom(dicomdir)
    assert scan.series == []
    ((path, reason),) = scan.skipped
    assert path == dicomdir
    assert reason.startswith(f"{dicomdir}: 54 of the 54 files this DICOMDIR names are not there (first: S21610")
    assert "open the folder that holds the images instead" in reason
    with pytest.raises(UnreadableInput, match="no DICOM image series found"):
        largest_series(scan)


def test_a_folder_full_of_damaged_files_still_imports_its_intact_ones(tmp_path):
    folder = (tmp_path / "study").resolve()
    folder.mkdir()
    intact = [folder / name for name in ("14.dcm", "16.dcm")]
    for path in intact:
        path.write_bytes((COMMITTED_DICOM / "ge_tilt" / path.name).read_bytes())
    damaged = []
    for number, (_, _, data) in enumerate(mutations(CLASSIC_CT.read_bytes(), seed=7)):
        damaged.append(folder / f"damaged{number:03d}.dcm")
        damaged[-1].write_bytes(data)

    with StudyDatabase(tmp_path / "index.sqlite") as database:
        report = database.import_folder(folder)
        indexed = {path for study in database.studies() for series in database.series(study.study_uid)
                   for path in database.series_files(series)}
        unreadable = dict(database.unreadable_files())

    assert report.read == len(damaged) + len(intact)
    assert set(intact) <= indexed
    for path in damaged:
        assert path in indexed or path.name in unreadable[str(path)], path
    scan = scan_dicom(folder)
    assert set(intact) <= {path for series in scan.series for path in series.paths}
    for series in scan.series:
        try:
            load_series(series)
        except MedStationError as error:
            assert any(path.name in str(error) for path in damaged), error
