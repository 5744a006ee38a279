"""File > Export…: each export runs as a job and its files read back; an existing output is replaced only after a
yes, burned-in annotation is asked about, nothing goes into the source folder; key images become a KOS that
references the flagged instance; the AI result is saved as SR, Parametric Map, SEG, overlay and PDF."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image
from PySide6.QtWidgets import QMessageBox
from sample_opening import SAMPLE, finish, open_sample

from medstation.core.layers import OverlayLayer
from medstation.core.measurements import Ruler
from medstation.io.export import sr_lines
from medstation.io.nifti import read_volume
from medstation.ui.export.export_dialog import KINDS
from medstation.ui.jobs import JobState


def _answer(qtbot, dialog, yes: bool):
    qtbot.waitUntil(lambda: dialog.question is not None, timeout=60_000)
    box = dialog.question
    box.button(QMessageBox.StandardButton.Yes if yes else QMessageBox.StandardButton.No).click()
    return box


def test_series_export_reads_back_and_replaces_only_after_a_yes(make_window, qtbot, tmp_path):
    window = make_window()
    source = open_sample(qtbot, window, tmp_path / "study")
    (menu_action,) = [action for action in window.actions if action.text() == "&Export…"]
    menu_action.trigger()
    dialog = window.export_dialog
    assert dialog.isVisible() and dialog.current_kind() == "dicom" and dialog.kind.currentText() == KINDS["dicom"]
    dialog.set_kind("nifti")
    out = tmp_path / "out"
    dialog.target.setText(str(out))
    done = finish(qtbot, dialog.start())
    (written,) = done.outputs
    assert written == out / "series-001-DX.nii.gz"
    np.testing.assert_array_equal(read_volume(written).array, window.viewer.state.volume.array)
    assert "Wrote" in dialog.status.text()

    before = written.stat().st_mtime_ns
    dialog.start()
    _answer(qtbot, dialog, yes=False)
    assert dialog.status.text() == "Nothing was written." and written.stat().st_mtime_ns == before
    dialog.start()
    _answer(qtbot, dialog, yes=True)
    qtbot.waitUntil(lambda: dialog.question is None and dialog.job is not None and dialog.job.state.finished)
    assert dialog.job.state is JobState.SUCCEEDED and dialog.last_result.outputs == (written,)

    dialog.target.setText(str(source.parent / "inside"))
    job = dialog.start()
    qtbot.waitUntil(lambda: job.state.finished, timeout=60_000)
    assert job.state is JobState.FAILED and "never changed" in str(job.error)
    assert not (source.parent / "inside").exists()


GE_CT = Path(__file__).resolve().parents[2] / "data" / "dicom" / "ge_tilt"


def _image_region(page: np.ndarray) -> tuple[slice, slice]:
    """Where the key image lies on a rendered page (grey, white paper): the rows and columns that are mostly dark
    (a CT's air is black; lines of text are not that wide)."""
    dark = page < 60
    rows = np.flatnonzero(dark.mean(axis=1) > 0.25)
    columns = np.flatnonzero(dark[rows].mean(axis=0) > 0.25)
    assert rows.size and columns.size, "no image found on the page"
    return slice(rows[0], rows[-1] + 1), slice(columns[0], columns[-1] + 1)


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="needs pdftoppm (poppler-utils) to render the PDF")
def test_pdf_report_has_a_page_per_key_image_with_its_overlay(make_window, qtbot, tmp_path):
    folder = tmp_path / "ct"
    shutil.copytree(GE_CT, folder, ignore=shutil.ignore_patterns("LICENSE"))
    window = make_window()
    finish(qtbot, window.opener.open_path(folder))
    state = window.viewer.state
    marked = np.zeros(state.volume.spatial_shape, dtype=np.uint8)
    marked[:, 200:300, 150:250] = 1
    window.viewer.add_overlay(OverlayLayer("marked", marked, kind="label", opacity=0.6))
    for k in (0, 2):
        state.set_voxel([*state.voxel[:2], k])
        assert window.toggle_key_image() is True
    dialog = window.show_export("pdf")
    assert dialog.note.text().startswith("2 pages")
    dialog.target.setText(str(tmp_path / "out" / "report.pdf"))
    dialog.reader.setText("Reader^Ann")
    (pdf,) = finish(qtbot, dialog.start()).outputs
    assert "2 pages" in dialog.status.text()

    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert [path.name for path in pages] == ["page-1.png", "page-2.png"]
    images = []
    for path in pages:
        rgb = np.asarray(Image.open(path).convert("RGB")).astype(np.int16)
        grey = rgb.mean(axis=2)
        assert (grey < 128).mean() > 0.05, f"{path.name} is blank"
        rows, columns = _image_region(grey)
        image, page_side = rgb[rows, columns], grey.shape[1]
        assert image.shape[1] > 0.3 * page_side, "the key image is drawn too small"
        assert image.std() > 20 and (image.mean(axis=2) > 150).mean() > 0.02, "the key image is uniform"
        red = (image[..., 0] > image[..., 1] + 60) & (image[..., 0] > image[..., 2] + 40)
        assert red.mean() > 0.02, "the overlay is not drawn on the key image"
        images.append(grey[rows, columns])
    first, second = images
    shape = np.minimum(first.shape, second.shape)
    assert np.abs(first[:shape[0], :shape[1]] - second[:shape[0], :shape[1]]).mean() > 2, "both pages show one image"


def test_deidentified_export_asks_about_burned_in_annotation_and_keeps_dates(make_window, qtbot, tmp_path):
    folder = tmp_path / "study"
    folder.mkdir()
    dataset = pydicom.dcmread(SAMPLE / "sample-04.dcm")
    dataset.BurnedInAnnotation = "YES"
    dataset.save_as(folder / "burned.dcm")
    window = make_window()
    finish(qtbot, window.opener.open_path(folder / "burned.dcm"))
    window.show_export("png")
    dialog = window.show_export("deidentified")
    assert dialog.keep_dates.isVisibleTo(dialog)
    assert dialog.height() >= dialog.sizeHint().height(), "the dialog grew with the row it shows"
    dialog.keep_dates.setChecked(True)
    dialog.target.setText(str(tmp_path / "out"))
    dialog.start()
    box = _answer(qtbot, dialog, yes=True)
    assert "burned" in box.text().lower()
    qtbot.waitUntil(lambda: dialog.last_result is not None, timeout=60_000)
    (exported,) = (tmp_path / "out").glob("series-*/0001.dcm")
    copy = pydicom.dcmread(exported)
    assert copy.PatientIdentityRemoved == "YES" and copy.PatientName != dataset.PatientName
    assert copy.StudyDate == dataset.StudyDate, "dates kept as asked"
    assert "burned-in annotation NOT removed" in str(copy.DeidentificationMethod)


def test_flagged_key_image_becomes_a_kos_referencing_its_instance(make_window, qtbot, tmp_path):
    window = make_window()
    source = open_sample(qtbot, window, tmp_path / "study")
    assert window.toggle_key_image() is True
    assert window.toggle_key_image() is False and len(window.key_images) == 0, "a second K unflags"
    assert window.toggle_key_image() is True
    assert any(action.shortcut().toString() == "K" for action in window.actions)
    dialog = window.show_export("kos")
    target = tmp_path / "out" / "key-images.dcm"
    dialog.target.setText(str(target))
    dialog.reader.setText("Reader^Ann")
    finish(qtbot, dialog.start())
    kos = pydicom.dcmread(target)
    referenced = [item.ReferencedSOPInstanceUID for study in kos.CurrentRequestedProcedureEvidenceSequence
                  for series in study.ReferencedSeriesSequence for item in series.ReferencedSOPSequence]
    assert referenced == [pydicom.dcmread(source).SOPInstanceUID]
    assert "Of Interest" in "\n".join(sr_lines(target))


@pytest.mark.slow
def test_ai_result_saved_as_dicom_objects_and_pdf(make_window, qtbot, tmp_path):
    window = make_window()
    source = open_sample(qtbot, window, tmp_path / "study")
    panel = window.ai_panel
    finish(qtbot, panel.refresh_models())
    panel.models.setCurrentIndex(panel.models.findData("pneumonia-cxr-resnet18"))
    panel.method.setCurrentIndex(panel.method.findData("gradcam"))
    finish(qtbot, panel.run(), timeout=180_000)
    state = window.viewer.state
    affine = state.volume.affine
    state.measurements.add(Ruler("axial", 0, (affine @ [2, 3, 0, 1])[:3], (affine @ [20, 15, 0, 1])[:3]))

    dialog = window.show_export("ai")
    dialog.target.setText(str(tmp_path / "ai"))
    dialog.reader.setText("Reader^Ann")
    done = finish(qtbot, dialog.start())
    assert sorted(path.name for path in done.outputs) == sorted(
        ["ai-report-sr.dcm", "saliency-parametric-map.dcm", "saliency-seg.dcm", "saliency-overlay-sc.dcm"])
    series_uid = pydicom.dcmread(source).SeriesInstanceUID
    text = "\n".join(sr_lines(tmp_path / "ai" / "ai-report-sr.dcm"))
    assert "pneumonia-cxr-resnet18" in text and "Length" in text and "Reader^Ann" in text
    for name in ("saliency-parametric-map.dcm", "saliency-seg.dcm"):
        assert pydicom.dcmread(tmp_path / "ai" / name).ReferencedSeriesSequence[0].SeriesInstanceUID == series_uid
    values = pydicom.dcmread(tmp_path / "ai" / "saliency-parametric-map.dcm").pixel_array
    np.testing.assert_allclose(values.reshape(window.saliency_layer.data.shape), window.saliency_layer.data)

    dialog.set_kind("pdf")
    assert dialog.target.text().endswith("report.pdf")
    done = finish(qtbot, dialog.start())
    (pdf,) = done.outputs
    assert pdf.read_bytes().startswith(b"%PDF") and "1 page" in dialog.status.text()
