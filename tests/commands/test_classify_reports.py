"""``classify --sr`` and ``--report`` on a sample image: a valid TID 1500 report and a one-page PDF."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from medstation.cli import main
from medstation.io.export.reading import sr_lines
from medstation.resources import resource_path

pytestmark = pytest.mark.slow
IMAGE = resource_path("sample", "images", "sample-04.dcm")


def test_classify_writes_a_report_and_a_pdf(tmp_path, capsys):
    sr, pdf = tmp_path / "result.dcm", tmp_path / "result.pdf"
    assert main(["classify", str(IMAGE), "--sr", str(sr), "--report", str(pdf)]) == 0
    text = "\n".join(sr_lines(sr))
    assert "pneumonia-cxr-resnet18" in text and "Probability of pneumonia" in text and "Decision support" in text
    if shutil.which("dciodvfy"):
        errors = [line for line in subprocess.run(["dciodvfy", str(sr)], capture_output=True, text=True)
                  .stderr.splitlines() if line.startswith("Error")]
        assert errors == []
    assert pdf.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-r", "30", "-png", str(pdf), str(tmp_path / "page")], check=True)
        assert [path.name for path in tmp_path.glob("page*.png")] == ["page-1.png"]
    capsys.readouterr()
    assert main(["classify", str(IMAGE), "--sr", str(sr)]) == 1
    assert "already exists" in capsys.readouterr().err
