"""Explicit gantry-tilt correction: geometry against dcm2niix's Tilt output, positions kept in patient space."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from medstation.core.volume import Volume
from medstation.io.dicom.series import load_dicom
from medstation.io.nifti import read_volume
from medstation.io.tilt import correct_gantry_tilt

SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
PHILIPS_TILT = SHARED_DATA / "dicom" / "dcm_qa_ct" / "In" / "Philips_tilt_neg18"
DCM2NIIX = shutil.which("dcm2niix") or str(Path(sys.executable).parent / "dcm2niix")


def _sheared_volume() -> Volume:
    """A 3-slice volume whose slices are shifted by 2 rows per slice (k not perpendicular to the slices)."""
    affine = np.eye(4)
    affine[:3, 2] = [0.0, 2.0, 3.0]
    array = np.zeros((3, 8, 5), np.int16)
    for k in range(3):
        array[k, 1, 2] = 100 + k
    warning = "Gantry tilted 33.7°: shown with its true geometry; reformats are slanted"
    return Volume(array=array, affine=affine, warnings=[warning])


def test_correction_moves_each_voxel_within_its_slice_and_keeps_its_lps_position():
    volume = _sheared_volume()
    corrected = correct_gantry_tilt(volume)
    assert not corrected.is_sheared
    assert corrected.array.shape == (3, 8 + 4, 5)
    np.testing.assert_allclose(corrected.affine[:3, 2], [0, 0, 3.0])
    for k in range(3):
        original_lps = volume.voxel_to_patient([2, 1, k])
        i, j, kk = np.rint(corrected.patient_to_voxel(original_lps)).astype(int)
        assert kk == k
        assert corrected.array[kk, j, i] == 100 + k
    assert corrected.warnings == ["Gantry tilt of 33.7° removed by resampling onto an orthogonal grid"]
    assert np.count_nonzero(corrected.array) == 3


def test_unsheared_volume_is_returned_unchanged():
    volume = Volume(array=np.ones((2, 2, 2), np.int16), affine=np.eye(4))
    assert correct_gantry_tilt(volume) is volume


@pytest.mark.skipif(not PHILIPS_TILT.is_dir(), reason=f"real tilted CT not found at {PHILIPS_TILT}")
@pytest.mark.skipif(not Path(DCM2NIIX).exists(), reason="dcm2niix (PyPI package 'dcm2niix') is not installed")
def test_philips_tilt_correction_matches_dcm2niix_geometry_and_content(tmp_path):
    subprocess.run([DCM2NIIX, "-p", "n", "-z", "n", "-f", "%s", "-o", str(tmp_path), str(PHILIPS_TILT)],
                   check=True, capture_output=True, timeout=120)
    (reference_path,) = tmp_path.glob("*_Tilt_*.nii")
    reference = read_volume(reference_path)
    volume = load_dicom(PHILIPS_TILT)
    assert volume.is_sheared
    corrected = correct_gantry_tilt(volume)
    assert corrected.array.shape == reference.array.shape
    # dcm2niix stores rows reversed (see dicom/test_conformance.py): undo that before comparing.
    n_rows = reference.array.shape[1]
    reference_affine = reference.affine.copy()
    reference_affine[:3, 3] += (n_rows - 1) * reference_affine[:3, 1]
    reference_affine[:3, 1] *= -1
    np.testing.assert_allclose(corrected.affine, reference_affine, atol=1e-3)
    reference_voxels = reference.array[:, ::-1, :].astype(np.float64)
    correlation = np.corrcoef(reference_voxels.ravel(), corrected.array.astype(np.float64).ravel())[0, 1]
    assert correlation > 0.99
    assert np.median(np.abs(reference_voxels - corrected.array)) <= 1
