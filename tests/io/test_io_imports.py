"""core/ and io/ stay light: no Qt, no torch, and heavy readers only inside the functions that need them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ["PySide6", "torch", "monai", "SimpleITK", "nibabel", "pydicom"]


def test_importing_volume_and_readers_loads_no_heavy_module():
    code = (
        "import sys, json\n"
        "import medstation.core.volume, medstation.io.dicom.series, medstation.io.nifti, medstation.io.tilt\n"
        "import medstation.io.dicom.preview, medstation.io.nifti_write\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert json.loads(result.stdout) == []


def test_converting_plain_dicom_to_nifti_needs_neither_pydicom_nor_nibabel(tmp_path):
    folder = tmp_path / "ct"
    folder.mkdir()
    for source in (Path(__file__).resolve().parents[1] / "data" / "dicom" / "ge_tilt").glob("*.dcm"):
        (folder / source.name).write_bytes(source.read_bytes())
    out = tmp_path / "ct.nii"
    code = (
        "import sys, json\n"
        "from medstation.cli import main\n"
        f"code = main(['convert', {str(folder)!r}, {str(out)!r}])\n"
        f"print(json.dumps([code, sorted(m for m in {HEAVY!r} if m in sys.modules)]))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert json.loads(result.stdout.splitlines()[-1]) == [0, []]
    assert out.stat().st_size == 352 + 3 * 512 * 512 * 2
