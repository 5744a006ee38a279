"""A reading session: hanging protocols on open, the next and previous series by key, files dropped on the window,
File > Open recent, and quitting while a job is stuck in a long call."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pydicom
import pytest
from database_faults import GE_TILT
from dicom_projection import write_projection
from pydicom.uid import generate_uid
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from medstation.core.hanging_protocols import Protocol
from medstation.errors import Cancelled
from medstation.io.hanging_protocols import protocols_file, protocols_text
from medstation.ui.jobs import QUIT_GRACE_MS, JobRunner, JobState
from medstation.ui.settings import MAX_RECENT


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A user data folder of the test's own (its hanging protocols file, its measurements)."""
    monkeypatch.setenv("MEDSTATION_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def three_series_study(folder: Path) -> Path:
    """One CT head study of three series (numbers 1-3, 'Series N'), each the three committed GE slices."""
    study_uid = generate_uid()
    for number in (1, 2, 3):
        series_uid = generate_uid()
        (folder / f"s{number}").mkdir(parents=True)
        for source in sorted(GE_TILT.glob("*.dcm")):
            dataset = pydicom.dcmread(source)
            dataset.StudyInstanceUID, dataset.SeriesInstanceUID = study_uid, series_uid
            dataset.SeriesNumber, dataset.SeriesDescription = number, f"Series {number}"
            dataset.SOPInstanceUID = dataset.file_meta.MediaStorageSOPInstanceUID = generate_uid()
            dataset.save_as(folder / f"s{number}" / source.name)
    return folder


def wait_for(qtbot, job):
    qtbot.waitUntil(lambda: job.state.finished, timeout=60_000)
    assert job.state is JobState.SUCCEEDED, job.error


def drop(window, paths: list[Path], target=None) -> QDropEvent:
    """Drag ``paths`` (as file URLs) over ``target`` (default the window) and drop them, as a file manager does."""
    target = target or window
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path)) for path in paths])
    point = QPointF(target.width() / 2, target.height() / 2)
    action, buttons, keys = Qt.DropAction.CopyAction, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(point.toPoint(), action, mime, buttons, keys)
    QApplication.sendEvent(target, enter)
    assert enter.isAccepted(), "the window takes files dragged over it"
    event = QDropEvent(point, action, mime, buttons, keys)
    QApplication.sendEvent(target, event)
    return event


# hanging protocols -----------------------------------------------------------------------------------------------
def test_a_ct_head_opens_in_its_hanging_protocol_with_the_rule_named(make_window, qtbot, tmp_path, home):
    window = make_window()
    window.show()
    window.viewer.set_layout("2x2")
    wait_for(qtbot, window.opener.open_path(GE_TILT))
    viewer = window.viewer
    assert viewer.state.volume.info.details["BodyPartExamined"] == "HEAD"
    assert viewer.layout_name == "1x3" and viewer.layout_actions["1x3"].isChecked()
    assert [view.view for view in viewer.visible_views()] == ["axial", "coronal", "sagittal"]
    assert (viewer.state.window.name, viewer.state.window.width, viewer.state.window.center) == ("Brain", 80, 40)
    assert window.hanging.label.text() == "Protocol: CT head" and window.hanging.label.isVisible()
    assert "1x3, Brain window" in window.hanging.label.toolTip()
    assert "hanging protocol CT head" in window.statusBar().currentMessage()
    assert protocols_file().exists(), "the default rules were written on first use"


def test_a_chest_radiograph_opens_single_and_asks_for_its_prior(make_window, qtbot, tmp_path, home):
    folder = tmp_path / "dx"
    folder.mkdir()
    write_projection(folder / "dx.dcm")  # DX, "chest PA", no BodyPartExamined: the description rule matches
    window = make_window()
    wanted = []
    window.hanging.prior_wanted.connect(wanted.append)
    window.show()
    wait_for(qtbot, window.opener.open_path(folder))
    assert window.viewer.layout_name == "single"
    assert window.hanging.label.text() == "Protocol: CR/DX chest"
    assert [info.series_description for info in wanted] == ["chest PA"]
    assert not window.compare.isVisible(), "no prior in the database: no empty Compare layout"


def test_a_protocol_window_that_would_blank_the_image_is_not_applied(make_window, qtbot, home):
    from medstation.core.hanging_protocols import Protocol
    from medstation.core.view_state import ViewState
    from medstation.core.volume import Volume, VolumeInfo
    from medstation.ui.hanging_protocols import apply_window

    volume = Volume(np.linspace(2000, 4000, 1000).reshape(10, 10, 10), np.eye(4), VolumeInfo(modality="CT"))
    state = ViewState(volume)
    before = state.window
    problem = apply_window(state, Protocol(name="CT head", window="Brain"))
    assert "all black or white" in problem and state.window == before


def test_the_users_own_rules_apply_and_a_series_no_rule_matches_keeps_the_viewers_layout(
    make_window, qtbot, tmp_path, home
):
    rules = [Protocol("Bony head", modalities=("CT",), description="no such series"),
             Protocol("Bone review", modalities=("ct",), min_images=3, max_images=3, layout="2x2", window="bone")]
    protocols_file().write_text(protocols_text(rules), encoding="utf-8")
    window = make_window()
    window.show()
    wait_for(qtbot, window.opener.open_path(GE_TILT))
    assert window.viewer.layout_name == "2x2"
    assert window.viewer.state.window.name == "Bone"
    assert window.hanging.label.text() == "Protocol: Bone review"
    protocols_file().write_text(protocols_text(rules[:1]), encoding="utf-8")
    window.viewer.set_layout("single")
    wait_for(qtbot, window.opener.open_path(GE_TILT))
    assert window.viewer.layout_name == "single" and window.hanging.label.text() == ""
    assert window.viewer.state.window.name != "Bone"


def test_a_damaged_rules_file_opens_with_the_defaults_and_one_warning(make_window, qtbot, home, capfd):
    protocols_file().write_text('{"protocols": [{"name": "CT head", "layout": "3x3"}', encoding="utf-8")
    window = make_window()
    window.show()
    wait_for(qtbot, window.opener.open_path(GE_TILT))
    wait_for(qtbot, window.opener.open_path(GE_TILT))
    assert window.hanging.label.text() == "Protocol: CT head"
    err = capfd.readouterr().err
    lines = [line for line in err.splitlines() if "hanging-protocols.json" in line]
    assert len(lines) == 1 and "is not valid JSON" in lines[0] and "Traceback" not in err


# navigation ------------------------------------------------------------------------------------------------------
def test_ctrl_page_keys_step_through_the_series_of_the_open_study(make_window, qtbot, tmp_path, home):
    study = three_series_study(tmp_path / "study")
    window = make_window()
    window.show()
    window.activateWindow()
    wait_for(qtbot, window.opener.open_path(study / "s1"))
    assert window.viewer.state.volume.info.series_number == 1
    rows = window.database.series(window.viewer.state.volume.info.study_uid)
    assert [row.series_number for row in rows] == [1], "only the folder opened is in the study index so far"
    window.database.import_folder(study)

    def press(key) -> None:
        view = window.viewer.views[window.viewer.state.active_view]
        qtbot.waitUntil(view.hasFocus, timeout=5_000)
        qtbot.keyClick(view, key, Qt.KeyboardModifier.ControlModifier)

    def shown() -> int:
        return window.viewer.state.volume.info.series_number

    press(Qt.Key.Key_PageDown)
    qtbot.waitUntil(lambda: shown() == 2, timeout=60_000)
    assert window.viewer.state.volume.info.series_description == "Series 2"
    press(Qt.Key.Key_PageDown)
    qtbot.waitUntil(lambda: shown() == 3, timeout=60_000)
    press(Qt.Key.Key_PageDown)
    assert "No next series in this study" in window.statusBar().currentMessage()
    press(Qt.Key.Key_PageUp)
    qtbot.waitUntil(lambda: shown() == 2, timeout=60_000)
    slice_before = window.viewer.state.slice_index("axial")
    qtbot.keyClick(window.viewer.views["axial"], Qt.Key.Key_PageUp)
    assert shown() == 2 and window.viewer.state.slice_index("axial") != slice_before, "PgUp alone still pages slices"


def test_two_quick_steps_land_on_the_series_two_on(make_window, qtbot, tmp_path, home):
    study = three_series_study(tmp_path / "study")
    window = make_window()
    window.database.import_folder(study)
    wait_for(qtbot, window.opener.open_path(study / "s1"))
    first = window.open_adjacent_series(1)
    second = window.open_adjacent_series(1)
    qtbot.waitUntil(lambda: first.state.finished and second.state.finished, timeout=60_000)
    assert first.state in (JobState.CANCELLED, JobState.SUCCEEDED) and second.state is JobState.SUCCEEDED
    assert window.viewer.state.volume.info.series_number == 3


def test_the_shortcut_list_says_which_keys_page_slices_and_which_step_series(make_window):
    from medstation.ui.dialogs.shortcuts import shortcut_rows

    window = make_window()
    rows = dict(shortcut_rows([*window.actions, *window.viewer.actions()]))
    assert rows["Next series of the study"] == "Ctrl+PgDown"
    assert rows["Previous series of the study"] == "Ctrl+PgUp"
    assert rows["10 slices forward"] == "PgUp" and rows["10 slices back"] == "PgDown"
    keys = [key.toString() for action in [*window.actions, *window.viewer.actions()] for key in action.shortcuts()]
    assert len(keys) == len(set(keys)), "a key is bound twice"


def test_dropping_a_folder_on_the_window_opens_it(make_window, qtbot, tmp_path, home):
    study = three_series_study(tmp_path / "study")
    window = make_window()
    window.show()
    event = drop(window, [study / "s2"])
    assert event.isAccepted()
    qtbot.waitUntil(lambda: window.viewer.state is not None, timeout=60_000)
    assert window.viewer.state.volume.info.series_description == "Series 2"
    files = sorted((study / "s3").glob("*.dcm"))
    drop(window, files, target=window.viewer.views["axial"])
    qtbot.waitUntil(lambda: window.viewer.state.volume.info.series_number == 3, timeout=60_000)
    assert window.viewer.state.volume.array.shape[0] == 3, "several files dropped open as one series"


def test_a_drag_over_an_image_goes_to_the_window(make_window, qtbot, home):
    """Qt gives a drag to the innermost widget under the cursor that accepts drops, else its nearest ancestor that
    does (QWidgetWindow's findDnDTarget); pyqtgraph's views accept drops by default and would swallow it."""
    window = make_window()
    window.resize(1200, 800)
    window.show()
    wait_for(qtbot, window.opener.open_path(GE_TILT))
    for view in window.viewer.visible_views():
        centre = view.mapTo(window, view.rect().center())
        target = window.childAt(centre)
        assert target is not None and view.isAncestorOf(target)
        while not target.isWindow() and not target.acceptDrops():
            target = target.parentWidget()
        assert target is window, f"a drag over the {view.view} image stops at {target}"


def test_dropped_text_without_files_is_refused(make_window):
    window = make_window()
    mime = QMimeData()
    mime.setText("not a file")
    enter = QDragEnterEvent(window.rect().center(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    enter.ignore()
    QApplication.sendEvent(window, enter)
    assert not enter.isAccepted()


def test_open_recent_lists_the_opened_paths_newest_first_and_opens_them(make_window, qtbot, tmp_path, home):
    study = three_series_study(tmp_path / "study")
    window = make_window()
    menu = window.recent_menu
    assert not menu.path_actions() and "No recent files" in [action.text() for action in menu.actions()]
    for number in (1, 2):
        wait_for(qtbot, window.opener.open_path(study / f"s{number}"))
    menu.refresh()
    assert [action.data() for action in menu.path_actions()] == [str(study / "s2"), str(study / "s1")]
    (study / "s1").rename(study / "gone")
    menu.refresh()
    first, second = menu.path_actions()
    assert first.isEnabled() and not second.isEnabled() and "no longer there" in second.toolTip()
    (study / "gone").rename(study / "s1")
    menu.refresh()
    menu.path_actions()[1].trigger()
    qtbot.waitUntil(lambda: window.viewer.state.volume.info.series_number == 1, timeout=60_000)
    assert [action.data() for action in menu.path_actions()][:2] == [str(study / "s1"), str(study / "s2")]
    for number in range(MAX_RECENT + 2):
        window.settings.add_recent_path(tmp_path / f"folder-{number}")
    menu.refresh()
    assert len(menu.path_actions()) == MAX_RECENT
    next(action for action in menu.actions() if action.text() == "&Clear list").trigger()
    assert not menu.path_actions() and window.settings.recent_paths() == []


def test_the_recent_paths_are_kept_between_sessions(make_window, settings, tmp_path):
    settings.add_recent_path(tmp_path)
    settings.sync()
    assert make_window().recent_menu.path_actions()[0].data() == str(tmp_path)


# quitting --------------------------------------------------------------------------------------------------------
def test_shutdown_returns_while_a_job_is_stuck_in_a_long_call_and_the_job_ends_cancelled(qapp, qtbot):
    runner = JobRunner()
    entered, release = threading.Event(), threading.Event()

    def long_library_call(progress=None, cancel=None):
        entered.set()
        release.wait(60)  # a call that checks no cancel token (a validation pass, an import)
        if cancel.is_set():
            raise Cancelled("cancelled by the user")
        return "finished"

    job = runner.submit("stuck", long_library_call)
    assert entered.wait(30)
    try:
        assert runner.shutdown(QUIT_GRACE_MS) is False, "shutdown gives up on the worker after the grace period"
        assert job.cancel_requested and runner.closed
        with pytest.raises(RuntimeError):
            runner.submit("late", long_library_call)
    finally:
        release.set()
    assert runner.shutdown(30_000)
    qtbot.waitUntil(lambda: job.state.finished, timeout=10_000)
    assert job.state is JobState.CANCELLED
