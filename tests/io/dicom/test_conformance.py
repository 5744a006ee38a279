"""Conformance of DICOM loading against dcm2niix (``-p n``: standard rescale) on the real dcm_qa suites.

How dcm2niix's NIfTI maps onto a MedStation Volume
--------------------------------------------------
dcm2niix stores ``data[x, y, z(, t)]`` with a voxel-to-RAS affine. Converting that affine to LPS
(``diag(-1, -1, 1, 1) @ A``) and reading the data as ``[(t,) z, y, x]`` gives MedStation's index order
with ``x = i`` and ``z = k``, but with the rows reversed: ``y = n_j - 1 - j`` (dcm2niix flips rows so the
result is RAS-like). For the Philips enhanced series it reverses the columns as well: ``x = n_i - 1 - i``.
:func:`align_reference` undoes those flips (moving the affine's origin to match) and the test asserts which
flips were needed, the same voxels and the same affine.

Voxels must be identical, except float32 results from a non-integer rescale, which are compared to 1e-6
relative (NIfTI stores the slope as float32, DICOM as decimal text). Affines must agree to 1e-3 mm
(translation) and 1e-4 (direction columns), except where EXPECTED_DIFFERENCES explains why not.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from medstation.io.dicom.series import load_series, scan_dicom
from medstation.io.nifti import read_volume

SHARED_DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"
DICOM_SUITES = SHARED_DATA / "dicom"
COMMITTED_DICOM = Path(__file__).resolve().parents[2] / "data" / "dicom"
SUITES = ["dcm_qa_12bit", "dcm_qa_ct", "dcm_qa_enh", "dcm_qa_nih", "dcm_qa_orientation", "dcm_qa_ts"]
DCM2NIIX = shutil.which("dcm2niix") or str(Path(sys.executable).parent / "dcm2niix")

ROW_FLIP = (False, True, False)
ROW_AND_COLUMN_FLIP = (True, True, False)
FLIPS_OTHER_THAN_ROWS = {
    "dcm_qa_enh/801_WIP_B0_NS_e1.nii": ROW_AND_COLUMN_FLIP,
    "dcm_qa_enh/801_WIP_B0_NS_e2_fieldmaphz.nii": ROW_AND_COLUMN_FLIP,
}

# Where MedStation keeps the true geometry and dcm2niix cannot. The voxels still match exactly; the test
# checks the stated relation instead of the affine equality.
EXPECTED_DIFFERENCES = {
    "dcm_qa_ct/2_.nii": (
        "GE head CT, gantry tilt 18.5 deg and irregular gaps (4.22 / 1.14 / 7.38 mm along z). dcm2niix writes "
        "one k step, the first gap scaled by cos(tilt); MedStation's affine uses the mean step, keeps every "
        "true slice position in Volume.slice_positions and warns about the irregular spacing and the tilt."
    ),
    "committed/2_.nii": "The same GE CT as dcm_qa_ct/2_.nii, three of its slices (tests/data/dicom/ge_tilt).",
    "dcm_qa_ct/201_1F_STEREOTAXIS_Head.nii": (
        "Philips CT, gantry tilt -18.5 deg: positions step 2.5 mm along z. dcm2niix's uncorrected affine "
        "scales the k column by cos(tilt) (2.3708 mm), which puts the last slice 6.8 mm away from its "
        "ImagePositionPatient; MedStation's sheared affine keeps the true 2.5 mm step."
    ),
}


def _dcm2niix_available() -> bool:
    return Path(DCM2NIIX).exists()


pytestmark = pytest.mark.skipif(not _dcm2niix_available(), reason="dcm2niix (PyPI package 'dcm2niix') is not installed")
needs_shared_suites = pytest.mark.skipif(
    not DICOM_SUITES.is_dir(), reason=f"real DICOM suites not found at {DICOM_SUITES}"
)


def convert_with_dcm2niix(folder: Path, out: Path) -> list[Path]:
    """dcm2niix's uncorrected NIfTI files for ``folder`` (its ``_Tilt`` / ``_Eq`` resamplings left out)."""
    command = [DCM2NIIX, "-p", "n", "-z", "n", "-f", "%s_%p", "-o", str(out), str(folder)]
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    return sorted(path for path in out.glob("*.nii") if "_Tilt" not in path.name and "_Eq" not in path.name)


@pytest.fixture(scope="session")
def dcm2niix_output(tmp_path_factory):
    """Convert each suite once per session; returns a function suite -> reference NIfTI files."""
    converted: dict[str, list[Path]] = {}

    def convert(suite: str) -> list[Path]:
        if suite not in converted:
            converted[suite] = convert_with_dcm2niix(DICOM_SUITES / suite / "In", tmp_path_factory.mktemp(suite))
        return converted[suite]

    return convert


def align_reference(data: np.ndarray, affine: np.ndarray, flips: tuple[bool, bool, bool]):
    """Reverse the i, j, k axes named in ``flips`` of ``data[(t,) k, j, i]`` and move the affine to match."""
    affine = affine.copy()
    sizes = data.shape[-1:-4:-1]
    for axis, flip in enumerate(flips):
        if flip:
            affine[:3, 3] += (sizes[axis] - 1) * affine[:3, axis]
            affine[:3, axis] *= -1
            data = np.flip(data, axis=data.ndim - 1 - axis)
    return data, affine


def _flips_towards(reference_affine: np.ndarray, affine: np.ndarray) -> tuple[bool, bool, bool]:
    return tuple(bool(np.dot(reference_affine[:3, a], affine[:3, a]) < 0) for a in range(3))


def _same_voxels(reference: np.ndarray, array: np.ndarray) -> bool:
    if reference.shape != array.shape:
        return False
    if array.dtype == np.float32:
        return bool(np.allclose(reference, array, rtol=1e-6, atol=1e-5))
    return array.dtype == np.int16 and bool(np.array_equal(reference, array))


def _assert_affines_equal(reference: np.ndarray, affine: np.ndarray) -> None:
    np.testing.assert_allclose(affine[:3, 3], reference[:3, 3], atol=1e-3)
    directions = affine[:3, :3] / np.linalg.norm(affine[:3, :3], axis=0)
    reference_directions = reference[:3, :3] / np.linalg.norm(reference[:3, :3], axis=0)
    np.testing.assert_allclose(directions, reference_directions, atol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(affine[:3, :3], axis=0),
                               np.linalg.norm(reference[:3, :3], axis=0), atol=1e-3)


def _assert_expected_tilt_difference(reference: np.ndarray, volume) -> None:
    """dcm2niix's k column is the first true slice step times cos(tilt); everything else agrees."""
    np.testing.assert_allclose(volume.affine[:3, :2], reference[:3, :2], atol=1e-4)
    np.testing.assert_allclose(volume.affine[:3, 3], reference[:3, 3], atol=1e-3)
    positions = (
        volume.slice_positions
        if volume.slice_positions is not None
        else volume.affine[:3, 3] + np.outer(np.arange(2), volume.affine[:3, 2])
    )
    first_step = positions[1] - positions[0]
    cos_tilt = np.cos(np.radians(volume.shear_angle_degrees))
    np.testing.assert_allclose(reference[:3, 2], first_step * cos_tilt, atol=1e-3)
    assert any(warning.startswith("Gantry tilted") for warning in volume.warnings)


@pytest.fixture(scope="module")
def medstation_volumes():
    loaded: dict[str, list] = {}

    def load(suite: str) -> list:
        if suite not in loaded:
            scan = scan_dicom(DICOM_SUITES / suite / "In")
            loaded[suite] = [(series, load_series(series)) for series in scan.series]
        return loaded[suite]

    return load


def assert_conformance(suite: str, references: list[Path], volumes: list) -> None:
    """Each dcm2niix volume matches exactly one MedStation volume, and every MedStation volume is matched."""
    assert references, f"dcm2niix wrote nothing for {suite}"
    matched_volumes = set()
    for path in references:
        key = f"{suite}/{path.name}"
        series_number = int(path.name.split("_")[0])
        reference = read_volume(path)
        matches = []
        for index, (series, volume) in enumerate(volumes):
            if series.identity.series_number != series_number:
                continue
            flips = _flips_towards(reference.affine, volume.affine)
            data, affine = align_reference(reference.array, reference.affine, flips)
            if _same_voxels(data, volume.array):
                matches.append((index, flips, affine, volume))
        assert len(matches) == 1, f"{key}: {len(matches)} MedStation volumes have its voxels"
        index, flips, affine, volume = matches[0]
        assert flips == FLIPS_OTHER_THAN_ROWS.get(key, ROW_FLIP), f"{key}: unexpected axis mapping {flips}"
        if key in EXPECTED_DIFFERENCES:
            _assert_expected_tilt_difference(affine, volume)
        else:
            _assert_affines_equal(affine, volume.affine)
        matched_volumes.add(index)
    assert matched_volumes == set(range(len(volumes))), f"{suite}: MedStation found series dcm2niix did not"


@needs_shared_suites
@pytest.mark.parametrize("suite", SUITES)
def test_every_dcm2niix_volume_has_one_matching_medstation_volume(suite, dcm2niix_output, medstation_volumes):
    assert_conformance(suite, dcm2niix_output(suite), medstation_volumes(suite))


@pytest.mark.parametrize("folder", ["ge_tilt", "siemens_mosaic"])
def test_committed_real_subset_matches_dcm2niix(folder, tmp_path):
    scan = scan_dicom(COMMITTED_DICOM / folder)
    volumes = [(series, load_series(series)) for series in scan.series]
    assert [Path(path).name for path, _ in scan.skipped] == ["LICENSE"]
    assert_conformance("committed", convert_with_dcm2niix(COMMITTED_DICOM / folder, tmp_path), volumes)


@needs_shared_suites
def test_all_nine_transfer_syntaxes_decode_to_the_same_voxels(medstation_volumes):
    volumes = medstation_volumes("dcm_qa_ts")
    assert [series.identity.series_number for series, _ in volumes] == list(range(1, 10))
    assert len({series.identity.series_uid for series, _ in volumes}) == 1
    first = volumes[0][1]
    for _, volume in volumes[1:]:
        np.testing.assert_array_equal(volume.array, first.array)
        np.testing.assert_allclose(volume.affine, first.affine)


@needs_shared_suites
def test_ge_tilted_ct_keeps_true_positions_and_warns(medstation_volumes):
    ge = [volume for series, volume in medstation_volumes("dcm_qa_ct") if series.identity.series_number == 2]
    (volume,) = ge
    assert volume.array.shape == (28, 512, 512) and volume.array.dtype == np.int16
    gaps = np.diff(volume.slice_positions[:, 2])
    assert sorted({round(float(gap), 2) for gap in gaps}) == [1.14, 4.22, 7.38]
    assert volume.is_sheared and abs(volume.shear_angle_degrees - 18.5) < 0.01
    assert any("Uneven slice spacing" in warning for warning in volume.warnings)
