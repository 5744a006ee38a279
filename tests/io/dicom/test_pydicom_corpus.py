"""Every image in pydicom's bundled test files that pydicom decodes loads and converts to pydicom's values.

pydicom's test files are a conformance corpus written by others: transfer syntaxes, photometric
interpretations, planar configurations, byte orders, signed and odd bit depths, damaged files. The reference is
pydicom's own ``pixel_array`` with the modality rescale applied, JPEG Baseline through pydicom's Pillow plugin as
MedStation decodes it (JPEG decoders may differ by a grey level). nibabel's bundled data adds other volume formats
for the command-line sweep: every command answers with a result or one line, never a traceback.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path

import numpy as np
import pytest

from medstation.cli import main
from medstation.io.dicom.pixels import JPEG_BASELINE
from medstation.io.dicom.series import load_dicom
from medstation.io.nifti import read_volume, write_volume


def _bundled_folder(module_name: str, *parts: str) -> Path | None:
    module = pytest.importorskip(module_name)
    folder = Path(module.__file__).parent.joinpath(*parts)
    return folder if folder.is_dir() else None


PYDICOM_FILES = _bundled_folder("pydicom", "data", "test_files")
NIBABEL_FILES = _bundled_folder("nibabel", "tests", "data")


def _files(folder: Path | None) -> list[Path]:
    if folder is None:
        return []
    return sorted(path for path in folder.rglob("*") if path.is_file() and "__pycache__" not in path.parts)


def _pydicom_reference(path: Path) -> np.ndarray | None:
    """``[frame, row, column(, sample)]`` as pydicom decodes and rescales it, or None when pydicom cannot."""
    from pydicom import dcmread

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            dataset = dcmread(path)
            if str(dataset.file_meta.get("TransferSyntaxUID", "")) == JPEG_BASELINE:
                dataset.pixel_array_options(decoding_plugin="pillow")
            pixels = dataset.pixel_array
        except Exception:
            return None
    frames = int(dataset.get("NumberOfFrames", 1) or 1)
    pixels = pixels if frames > 1 else pixels[np.newaxis]
    if int(dataset.get("SamplesPerPixel", 1) or 1) == 1:
        slope = float(dataset.get("RescaleSlope", 1) or 1)
        intercept = float(dataset.get("RescaleIntercept", 0) or 0)
        pixels = pixels.astype(np.float64) * slope + intercept
    return pixels


DECODABLE = [path for path in _files(PYDICOM_FILES) if _pydicom_reference(path) is not None]


@pytest.mark.skipif(not DECODABLE, reason="pydicom's bundled test files (pydicom/data/test_files) are absent")
@pytest.mark.parametrize("path", DECODABLE, ids=lambda path: path.name)
def test_every_file_pydicom_decodes_loads_and_converts_to_its_values(path, tmp_path):
    expected = _pydicom_reference(path)
    volume = load_dicom(path)
    assert volume.array.size == expected.size, f"{path.name}: {volume.array.shape} vs {expected.shape}"
    loaded = volume.array.reshape(expected.shape).astype(np.float64)
    np.testing.assert_allclose(loaded, expected, rtol=1e-6, atol=1e-4, err_msg=path.name)
    written = write_volume(volume, tmp_path / "converted.nii.gz")
    back = read_volume(written)
    assert back.array.dtype == volume.array.dtype, f"{path.name}: converted to {back.array.dtype}"
    np.testing.assert_array_equal(back.array, volume.array, err_msg=path.name)


def _run_quietly(argv: list[str]) -> tuple[object, str]:
    stderr, stdout = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(stdout):
            code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    return code, stderr.getvalue()


@pytest.mark.slow
@pytest.mark.parametrize("folder", [PYDICOM_FILES, NIBABEL_FILES], ids=["pydicom", "nibabel"])
def test_info_convert_and_render_answer_every_bundled_file_without_a_traceback(folder, tmp_path):
    if folder is None:
        pytest.skip("the library's bundled test data is absent")
    outcomes: dict[tuple[str, object], int] = {}
    for path in _files(folder):
        commands = (
            ["info", str(path)],
            ["convert", str(path), str(tmp_path / "out.nii.gz")],
            ["render", str(path), str(tmp_path / "out.png")],
        )
        for argv in commands:
            code, stderr = _run_quietly(argv)  # an exception escaping main() fails the test here
            assert "Traceback" not in stderr, f"{argv}: {stderr}"
            assert code in (0, 1), f"{argv}: exit {code}: {stderr}"
            if code == 1:
                last = stderr.strip().splitlines()[-1]
                assert last.startswith(f"medstation {argv[0]}: error: "), f"{argv}: {stderr}"
            outcomes[argv[0], code] = outcomes.get((argv[0], code), 0) + 1
    assert outcomes.get(("info", 0), 0) > 0
