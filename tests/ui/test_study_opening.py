"""Opening studies in the workstation: a folder loads in a job, shows in the viewer and the browser."""

from __future__ import annotations

import shutil

from dicom_projection import write_projection
from PySide6.QtWidgets import QApplication, QMessageBox

from medstation.io.dicom.geometry import NO_GEOMETRY_WARNING
from medstation.ui.panels.study_browser import SERIES_ROLE


def test_opening_a_folder_fills_viewer_and_browser_and_shows_its_warnings_in_a_banner(
    make_window, qtbot, tmp_path, shared_path
):
    folder = tmp_path / "ge"
    shutil.copytree(shared_path("dicom", "dcm_qa_ct", "In", "GE"), folder)
    (folder / "broken.dcm").write_bytes(b"DICM" * 10)
    (folder / "notes.txt").write_text("scanned on the night shift\n")
    window = make_window()
    window.show()
    job = window.opener.open_path(folder)
    qtbot.waitUntil(lambda: job.state.finished, timeout=60_000)
    assert job.state.value == "done", job.error
    assert window.viewer.state is not None
    assert window.viewer.state.volume.array.shape == (28, 512, 512)
    assert window.study_browser.tree.topLevelItemCount() == 1
    assert not [widget for widget in QApplication.topLevelWidgets() if isinstance(widget, QMessageBox)]
    banner = window.viewer.banner
    assert banner.isVisible()
    text = banner.label.text()
    assert "Gantry tilted 18.5°" in text and "reformats are slanted" in text and "Uneven slice spacing" in text
    assert "broken.dcm could not be read" in text
    assert "notes.txt" not in text, "a text file beside the images is left out quietly"
    assert "1 file(s) that are not images left out" in window.statusBar().currentMessage()
    banner.dismiss_button.click()
    assert not banner.isVisible()


def test_a_radiograph_without_patient_geometry_gets_no_banner_but_says_so_in_the_viewer(make_window, qtbot, tmp_path):
    folder = tmp_path / "dx"
    folder.mkdir()
    write_projection(folder / "dx.dcm")
    window = make_window()
    window.show()
    job = window.opener.open_path(folder)
    qtbot.waitUntil(lambda: job.state.finished, timeout=60_000)
    assert job.state.value == "done", job.error
    assert window.viewer.state.volume.info.modality == "DX"
    assert NO_GEOMETRY_WARNING in window.viewer.state.volume.warnings
    assert not window.viewer.banner.isVisible()
    (broken := folder / "broken.dcm").write_bytes(b"DICM" * 10)
    job = window.opener.open_path(folder)
    qtbot.waitUntil(lambda: job.state.finished, timeout=60_000)
    text = window.viewer.banner.label.text()
    assert window.viewer.banner.isVisible() and broken.name in text and "No patient position" not in text


def test_double_clicking_a_series_in_the_browser_opens_it(make_window, qtbot, shared_path):
    window = make_window()
    window.database.import_folder(shared_path("dicom", "dcm_qa_ts", "In"))
    window.study_browser.refresh()
    patient = window.study_browser.tree.topLevelItem(0)
    series_item = patient.child(0).child(2)
    row = series_item.data(0, SERIES_ROLE)
    window.study_browser.tree.itemActivated.emit(series_item, 0)
    qtbot.waitUntil(lambda: window.viewer.state is not None, timeout=60_000)
    assert window.viewer.state.volume.array.shape == (35, 64, 64)
    assert window.viewer.state.volume.info.series_number == row.series_number
    assert window.viewer.state.volume.info.series_uid == row.series_uid


def test_browser_series_get_thumbnails_of_their_images(make_window, qtbot, shared_path):
    window = make_window()
    window.database.import_folder(shared_path("dicom", "dcm_qa_ct", "In", "GE"))
    window.study_browser.refresh()
    series_item = window.study_browser.tree.topLevelItem(0).child(0).child(0)
    qtbot.waitUntil(lambda: not series_item.icon(0).isNull(), timeout=60_000)
    image = series_item.icon(0).pixmap(64, 64).toImage()
    greys = {image.pixelColor(x, y).value() for x in range(0, image.width(), 4) for y in range(0, image.height(), 4)}
    assert len(greys) > 10, "the thumbnail should show the head, not a flat square"


def test_the_banner_names_each_unreadable_file_once(make_window, qtbot, tmp_path):
    folder = tmp_path / "dx"
    folder.mkdir()
    write_projection(folder / "dx.dcm")
    (folder / "broken.dcm").write_bytes(b"DICM" * 10)
    window = make_window()
    job = window.opener.open_path(folder)
    qtbot.waitUntil(lambda: job.state.finished, timeout=60_000)
    (line,) = [line for line in window.viewer.banner.lines if "broken.dcm" in line]
    assert line.count("broken.dcm") == 1 and str(tmp_path) not in line, line


def test_a_picture_opens_in_the_viewer_and_the_open_dialog_offers_every_format(make_window, qtbot, tmp_path):
    import numpy as np
    from PIL import Image

    from medstation.io.formats import IMAGE_FORMATS
    from medstation.ui.main_window import IMAGE_FILE_FILTER

    picture = tmp_path / "hand.jpg"
    Image.fromarray(np.full((20, 30), 90, np.uint8)).save(picture)
    window = make_window()
    job = window.opener.open_path(picture)
    qtbot.waitUntil(lambda: job.state.finished, timeout=60_000)
    assert job.state.value == "done", job.error
    assert window.viewer.state.volume.array.shape == (1, 20, 30)
    every = IMAGE_FILE_FILTER.split(";;")[0]
    offered = set(every[every.index("(") + 1 : -1].split())
    assert offered == {f"*{suffix}" for image_format in IMAGE_FORMATS for suffix in image_format.suffixes}
    assert IMAGE_FILE_FILTER.endswith("All files (*)")


def test_the_study_browser_lists_saved_measurements_per_series_and_study(make_window, qtbot, tmp_path):
    import numpy as np

    from medstation.core.measurements import Ruler

    folder = tmp_path / "dx"
    folder.mkdir()
    write_projection(folder / "dx.dcm")
    window = make_window()
    job = window.opener.open_path(folder)
    qtbot.waitUntil(lambda: job.state.finished, timeout=60_000)
    state = window.viewer.state
    for _ in range(2):
        state.measurements.add(Ruler("axial", 0, np.zeros(3), np.array([3.0, 4.0, 0.0])))
    study_item = window.study_browser.tree.topLevelItem(0).child(0)
    assert study_item.text(0).endswith("· 2 measurements")
    assert study_item.child(0).text(0).endswith("· 2 measurements")
    state.measurements.remove(state.measurements.items[0])
    assert window.study_browser.tree.topLevelItem(0).child(0).child(0).text(0).endswith("· 1 measurement")
