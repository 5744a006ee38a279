"""The PDF report keeps each case on one page: a case whose result, model card and measurements leave too little
room for the key image at full size still ends on its own page, with everything on it."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from medstation.io.export.pdf_report import ReportCase, write_pdf_report
from medstation.io.export.results import ClassificationResult, ModelSummary

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils to read the PDF")


def _page_texts(pdf) -> list[str]:
    pages = int(next(line.split()[-1] for line in subprocess.run(["pdfinfo", str(pdf)], capture_output=True,
                                                                 text=True, check=True).stdout.splitlines()
                     if line.startswith("Pages:")))
    return [subprocess.run(["pdftotext", "-f", str(n), "-l", str(n), str(pdf), "-"], capture_output=True, text=True,
                           check=True).stdout for n in range(1, pages + 1)]


def test_a_case_with_a_long_result_and_many_measurements_stays_on_one_page(tmp_path):
    image = np.zeros((64, 64, 3), dtype=np.uint8)
    image[16:48, 16:48] = (200, 60, 60)
    model = ModelSummary("a-model", "1.0.0", "0" * 64, "a classifier of normal, pneumonia", "PneumoniaMNIST",
                         "CC BY 4.0", "test", {"auc": 0.97, "accuracy": 0.92})
    result = ClassificationResult(model, {"normal": 0.2, "pneumonia": 0.8}, "pneumonia", 0.5, "pneumonia")
    rows = [{"id": n, "kind": "ruler", "slice": 0, "length_mm": 10.0 + n, "unit": "mm"} for n in range(1, 19)]
    cases = [ReportCase("a-model: pneumonia", {"Patient": "Doe^Jane", "Image": "image 1"}, image, "Image 1",
                        result, rows),
             ReportCase("second", {"Image": "image 2"}, image, "Image 2")]
    pdf = write_pdf_report(cases, tmp_path / "report.pdf", reader="Reader^Ann")
    first, second = _page_texts(pdf)
    assert "Decision support only" in first
    assert "28" in first.split("Measurements")[1], "the last measurement is on the case's page"
    assert "Signature" in first and "Reader^Ann" in first
    assert "second" in second and "Signature" in second and "Measurements" not in second
