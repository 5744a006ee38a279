"""core/ and io/ stay light: no Qt, no torch, and heavy readers only inside the functions that need them."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ["PySide6", "torch", "monai", "SimpleITK", "nibabel", "pydicom"]


def test_importing_volume_and_readers_loads_no_heavy_module():
    code = (
        "import sys, json\n"
        "import medstation.core.volume, medstation.io.dicom, medstation.io.nifti, medstation.io.tilt\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert json.loads(result.stdout) == []
