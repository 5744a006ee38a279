"""The Compare layout: a prior or another series beside the current one, linked; the study browser's Priors list."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import send_drag, send_wheel, viewport_point
from dicom_studies import write_ct_series
from PySide6.QtCore import Qt

from medstation.core.view_link import FRACTION, POSITION

CURRENT, PRIOR, OLDER = "1.2.3.20240102", "1.2.3.20220310", "1.2.3.20200105"


def _open(window, qtbot, study_uid: str, series_number: int = 1):
    (row,) = [row for row in window.database.series(study_uid) if row.series_number == series_number]
    job = window.opener.open_series(row)
    qtbot.waitUntil(lambda: job.state.finished, timeout=60_000)
    assert job.state.value == "done", job.error
    return window.viewer.state


def _wait_compared(window, qtbot, job):
    qtbot.waitUntil(lambda: job.state.finished, timeout=60_000)
    assert job.state.value == "done", job.error
    qtbot.waitUntil(lambda: window.compare.viewer.state is not None, timeout=10_000)
    return window.compare.viewer.state


@pytest.fixture
def visits(tmp_path):
    """Patient P1: the current CT (2024) with a second series in its frame of reference, two priors; and P2."""
    folder = tmp_path / "visits"
    frame = "1.2.826.0.1.3680043.8.498.77"
    write_ct_series(folder / "current", study_uid=CURRENT, study_date="20240102", frame_of_reference=frame,
                    n_slices=10)
    write_ct_series(folder / "current-thick", study_uid=CURRENT, study_date="20240102", frame_of_reference=frame,
                    series_number=2, series_description="Head 3 mm", n_slices=6, slice_step=3.0,
                    pixel_spacing=(0.5, 0.6), origin=(-9.0, -7.0, 1.0), rows=44, columns=50)
    write_ct_series(folder / "prior", study_uid=PRIOR, study_date="20220310", n_slices=20, slice_step=1.0,
                    origin=(-30.0, -40.0, -200.0))
    write_ct_series(folder / "older", study_uid=OLDER, study_date="20200105", study_description="CT HEAD OLD")
    write_ct_series(folder / "other", study_uid="1.2.3.9", study_date="20230101", patient_id="P2",
                    patient_name="Other^Patient")
    return folder


@pytest.fixture
def window(make_window, visits):
    window = make_window()
    window.database.import_folder(visits)
    window.study_browser.refresh()
    window.show()
    return window


def test_priors_list_shows_the_patients_other_studies_newest_first_and_opens_one_into_compare(window, qtbot):
    priors = window.study_browser.priors
    assert priors.studies() == [], "nothing open, no priors"
    _open(window, qtbot, CURRENT)
    assert [study.study_uid for study in priors.studies()] == [PRIOR, OLDER]
    assert priors.title.text() == "Priors (2)"
    assert priors.list.item(0).text().startswith("2022-03-10  CT HEAD")
    assert not window.compare.isVisible()

    priors.list.itemActivated.emit(priors.list.item(0))
    compared = _wait_compared(window, qtbot, window.compare.last_job)
    assert window.compare.isVisible() and window.compare_action.isChecked()
    assert compared.volume.info.study_uid == PRIOR
    link = window.compare.link
    assert link.mode == FRACTION and link.linked
    assert window.compare.link_text.text() == "by slice fraction"
    current = window.viewer.state
    current.set_slice("axial", 0)
    assert compared.slice_index("axial") == 0
    current.set_slice("axial", 9)
    assert compared.slice_index("axial") == 19, "the last slice of one is the last of the other"


def _press(qtbot, slice_view, key, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    slice_view.setFocus()
    qtbot.waitUntil(slice_view.hasFocus, timeout=5_000)
    qtbot.keyClick(slice_view, key, modifiers)


def test_compare_key_opens_the_newest_prior_and_another_patient_closes_it(window, qtbot):
    window.activateWindow()
    current = _open(window, qtbot, CURRENT)
    _press(qtbot, window.viewer.views["axial"], Qt.Key.Key_4, Qt.KeyboardModifier.ControlModifier)
    assert window.compare.isVisible()
    compared = _wait_compared(window, qtbot, window.compare.last_job)
    assert compared.volume.info.study_uid == PRIOR
    assert (current.slice_index("axial"), compared.slice_index("axial")) == (4, 8)
    _press(qtbot, window.compare.viewer.views["axial"], Qt.Key.Key_Up)
    assert compared.slice_index("axial") == 9, "the key went to the viewer with the focus"
    assert current.voxel[2] == pytest.approx(9 * 9 / 19), "and the current series followed"
    assert window.compare.link_action.shortcut().toString() == "Ctrl+Shift+L"
    window.compare.link_action.trigger()  # a key click with Shift leaves Shift held in offscreen Qt for later tests
    assert not window.compare.link.linked and window.compare.link_text.text() == "off"
    window.compare.link_action.trigger()
    entries = [window.compare.series_box.itemText(index) for index in range(window.compare.series_box.count())]
    assert entries[0].startswith("2024-01-02 (this study)") and "Head 3 mm" in entries[0]
    assert len(entries) == 3 and window.compare.series_box.currentIndex() == 1
    _open(window, qtbot, "1.2.3.9")
    assert window.compare.viewer.state is None and window.compare.link is None, "never two patients side by side"
    window.compare_action.trigger()
    assert not window.compare.isVisible()


def test_two_series_of_one_frame_of_reference_scroll_zoom_and_window_together_by_patient_position(window, qtbot):
    current = _open(window, qtbot, CURRENT)
    window.set_compare(True)
    compare = window.compare
    compare.series_box.activated.emit(0)  # the second series of the current study
    compared = _wait_compared(window, qtbot, compare.last_job)
    assert compared.volume.info.series_description == "Head 3 mm"
    assert compare.link.mode == POSITION
    assert compare.link_text.text() == "by position"
    qtbot.waitUntil(lambda: compare.viewer.views["axial"].graphics.viewport().width() > 100)
    axial, other_axial = window.viewer.views["axial"], compare.viewer.views["axial"]

    def under_crosshair(slice_view) -> np.ndarray:
        x, y = (line.value() for line in slice_view.crosshair)
        return slice_view.patient_at(x, y)

    send_drag(axial, Qt.MouseButton.LeftButton, viewport_point(axial, 8.0, 9.0), viewport_point(axial, 9.0, 11.0))
    for _ in range(3):
        send_wheel(axial, 1)
        np.testing.assert_allclose(compared.point, current.point, atol=1e-6)
        np.testing.assert_allclose(under_crosshair(other_axial)[:2], under_crosshair(axial)[:2], atol=1e-6)
        assert compared.slice_index("axial") == round((current.point[2] - 1.0) / 3.0)
    send_wheel(other_axial, -1)
    np.testing.assert_allclose(current.point, compared.point, atol=1e-6)

    send_drag(other_axial, Qt.MouseButton.RightButton, viewport_point(other_axial, 0, 0),
              viewport_point(other_axial, 15, 5))
    assert current.window == compared.window and current.window.width != 400

    send_wheel(other_axial, 2, Qt.KeyboardModifier.ControlModifier)
    assert current.cameras["axial"].zoom != 1.0

    def shown(slice_view):
        """LPS (x, y) of the middle of the view and mm per viewport pixel."""
        (x0, x1), (y0, y1) = slice_view.view_box.viewRange()
        centre = slice_view.plane.screen_to_patient((x0 + x1) / 2, (y0 + y1) / 2)
        return centre[:2], (x1 - x0) / slice_view.view_box.width()

    (centre, scale), (other_centre, other_scale) = shown(axial), shown(other_axial)
    np.testing.assert_allclose(other_centre, centre, atol=0.05 * scale * axial.view_box.width())
    assert other_scale == pytest.approx(scale, rel=0.05)

    compare.link_action.trigger()
    assert compare.link_text.text() == "off"
    before = compared.point
    send_wheel(axial, 2)
    np.testing.assert_allclose(compared.point, before)
    compare.link_action.trigger()
    np.testing.assert_allclose(compared.point, current.point, atol=1e-6)
