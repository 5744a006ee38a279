"""dciodvfy (Debian dicom3tools), the DICOM validator the exported objects must pass."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def validate(path: Path) -> tuple[list[str], list[str]]:
    """(errors, warnings) dciodvfy reports for ``path``; skips the test where dciodvfy is not installed."""
    program = shutil.which("dciodvfy")
    if program is None:
        pytest.skip("dciodvfy is not installed (apt-get install dicom3tools)")
    lines = subprocess.run([program, str(path)], capture_output=True, text=True, check=False).stderr.splitlines()
    return [line for line in lines if line.startswith("Error")], [line for line in lines if line.startswith("Warning")]
