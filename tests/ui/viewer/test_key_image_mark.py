"""A flagged key image carries a KEY badge in the views that show it: the acquisition plane on that slice, in the
main and the Compare viewer; not on other slices, not in reformatted planes or the MIP, and no more once unflagged."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import image_array
from dicom_studies import write_ct_series
from PySide6.QtGui import QImage
from sample_opening import finish

STUDY = "1.2.3.20240102"
BADGE = np.array([255, 179, 0])


def _marked(view) -> bool:
    return not view.key_mark.isHidden()


def _badge_pixels(view) -> int:
    """Pixels of the badge's colour in the view as drawn."""
    pixels = image_array(view.grab().toImage())[..., :3].astype(int)
    return int((np.abs(pixels - BADGE).sum(axis=-1) < 30).sum())


@pytest.fixture
def window(make_window, tmp_path):
    """Two CT series of one study in one frame of reference, listed in the study database."""
    frame = "1.2.826.0.1.3680043.8.498.91"
    write_ct_series(tmp_path / "study" / "thin", study_uid=STUDY, study_date="20240102", frame_of_reference=frame,
                    n_slices=8)
    write_ct_series(tmp_path / "study" / "thick", study_uid=STUDY, study_date="20240102", frame_of_reference=frame,
                    series_number=2, series_description="Head 4 mm", n_slices=4, slice_step=4.0)
    window = make_window()
    window.database.import_folder(tmp_path / "study")
    window.resize(1400, 800)
    window.show()
    return window


def _row(window, number: int):
    (row,) = [row for row in window.database.series(STUDY) if row.series_number == number]
    return row


def test_the_key_badge_follows_the_slice_and_the_flag(window, qtbot, tmp_path):
    finish(qtbot, window.opener.open_series(_row(window, 1)))
    state, views = window.viewer.state, window.viewer.views
    state.set_slice("axial", 3)
    qtbot.waitUntil(lambda: views["axial"].graphics.viewport().width() > 100)
    assert not any(_marked(view) for view in views.values()) and _badge_pixels(views["axial"]) == 0

    assert window.toggle_key_image() is True
    assert _marked(views["axial"]) and views["axial"].key_mark.text() == "KEY"
    assert _badge_pixels(views["axial"]) > 50, "the badge is drawn over the image"
    assert not _marked(views["coronal"]) and not _marked(views["sagittal"]), "a reformatted plane is no key image"
    state.set_slice("axial", 4)
    assert not _marked(views["axial"]), "another slice is not flagged"
    state.set_slice("axial", 3)
    assert _marked(views["axial"])

    window.viewer.set_layout("2x2")
    assert _marked(views["axial"]) and not _marked(views["mip"]), "a slab MIP shows no single image"
    plain = QImage(str(window.viewer.save_screenshot(tmp_path / "plain.png", annotations=False)))
    assert (np.abs(image_array(plain)[..., :3].astype(int) - BADGE).sum(axis=-1) < 30).sum() == 0, (
        "a screenshot without annotations has no badge")
    assert _marked(views["axial"]), "back after the screenshot"

    assert window.toggle_key_image() is False
    assert not _marked(views["axial"]) and _badge_pixels(views["axial"]) == 0, "unflagged: the badge goes"


def test_the_compare_viewer_marks_a_key_image_of_its_series(window, qtbot):
    finish(qtbot, window.opener.open_series(_row(window, 2)))
    window.viewer.state.set_slice("axial", 1)
    assert window.toggle_key_image() is True
    finish(qtbot, window.opener.open_series(_row(window, 1)))
    main = window.viewer.state
    finish(qtbot, window.open_in_compare(_row(window, 2)))
    qtbot.waitUntil(lambda: window.compare.viewer.state is not None, timeout=10_000)
    compared, views = window.compare.viewer.state, window.compare.viewer.views
    window.compare.link_action.setChecked(False)

    compared.set_slice("axial", 1)
    assert _marked(views["axial"]), "the image flagged while its series was the main one"
    assert not _marked(window.viewer.views["axial"]), "the main viewer's series has no key image"
    compared.set_slice("axial", 2)
    assert not _marked(views["axial"])

    window.compare.link_action.setChecked(True)
    main.set_slice("axial", 2)  # 4 mm into the thin series: the thick one follows by position to its slice 1
    assert compared.slice_index("axial") == 1 and _marked(views["axial"])
