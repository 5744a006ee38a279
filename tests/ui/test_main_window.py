"""The workstation shell: docks, menus, shortcuts, dialogs, settings, errors, device status."""

from __future__ import annotations

import shutil

import pytest
from database_faults import GE_TILT, damage_middle_pages, indexed_database
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QMessageBox

from medstation.errors import UnreadableInput
from medstation.io.database import StudyDatabase, default_database_path
from medstation.settings import load_settings
from medstation.ui.app import close_window, create_application
from medstation.ui.dialogs.about import AboutDialog
from medstation.ui.dialogs.shortcuts import ShortcutsDialog, shortcut_rows
from medstation.ui.jobs import JobRunner
from medstation.ui.main_window import LAYOUT_VERSION, MainWindow
from medstation.ui.settings import Settings


def test_docks_sit_where_a_radiologist_expects_them(make_window):
    window = make_window()
    area = Qt.DockWidgetArea
    assert window.dockWidgetArea(window.docks["studies"]) == area.LeftDockWidgetArea
    assert window.dockWidgetArea(window.docks["ai"]) == area.RightDockWidgetArea
    assert window.dockWidgetArea(window.docks["timeline"]) == area.BottomDockWidgetArea
    assert window.dockWidgetArea(window.docks["jobs"]) == area.BottomDockWidgetArea
    titles = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert titles == ["File", "View", "Tools", "AI", "Help"]
    (view_menu,) = [a.menu() for a in window.menuBar().actions() if a.text() == "&View"]
    toggles = {a.text() for a in view_menu.actions()}
    assert {dock.windowTitle() for dock in window.docks.values()} <= toggles, "every dock can be shown again"


def test_shortcuts_dialog_lists_every_shortcut_of_the_window(make_window):
    window = make_window()
    rows = dict(shortcut_rows(window.actions))
    assert rows["Quit"] == "Ctrl+Q"
    assert rows["Keyboard shortcuts"] == "F1"
    assert "Study browser" in rows
    viewer_rows = dict(shortcut_rows(window.viewer.actions()))
    assert viewer_rows["Next slice"] == "Up, Right" and "Window: Lung 1500/-600" in viewer_rows
    mouse = window.viewer.mouse_bindings()
    dialog = ShortcutsDialog([*window.actions, *window.viewer.actions()], mouse, window)
    assert dialog.table.rowCount() == len(rows) + len(viewer_rows) + len(mouse)
    listed = {dialog.table.item(row, 0).text() for row in range(dialog.table.rowCount())}
    assert {command for command, _ in mouse} <= listed
    dialog.deleteLater()


def test_about_names_versions_device_and_licences(make_window):
    window = make_window()
    dialog = AboutDialog("CUDA: Test GPU", window)
    text = dialog.text.text()
    for needle in ("MedStation 0.", "CUDA: Test GPU", "PySide6-Essentials", "torch", "LGPL-3.0", "Apache-2.0"):
        assert needle in text
    dialog.deleteLater()


def test_settings_and_layout_persist_across_sessions(make_window, tmp_path, settings):
    window = make_window()
    window.docks["ai"].hide()
    settings.device = "cpu"
    window.close()
    reopened = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat), settings.file)
    assert reopened.device == "cpu"
    assert load_settings(tmp_path / "settings.json").device == "cpu"
    second = make_window()
    assert second.settings.device == "cpu"
    assert second.docks["ai"].isHidden()


def test_a_layout_saved_for_other_docks_or_a_larger_screen_is_not_restored_beyond_the_screen(make_window, settings):
    window = make_window()
    window.docks["studies"].hide()
    stale_state = window.saveState(1)
    screen = window.screen().availableGeometry()
    window.setGeometry(screen.x(), screen.y(), screen.width() + 400, screen.height() + 400)
    oversized = window.saveGeometry()
    window.close()
    settings.save_window_layout(oversized, stale_state)
    second = make_window()
    assert not second.docks["studies"].isHidden()
    smallest = second.minimumSizeHint()  # the offscreen screen (800x800) is narrower than the docks' minimum
    assert second.width() <= max(screen.width(), smallest.width())
    assert second.height() <= max(screen.height(), smallest.height())
    assert second.width() < screen.width() + 400 and second.height() < screen.height() + 400


def test_a_failing_job_shows_an_error_dialog_and_the_app_lives_on(make_window, qtbot):
    window = make_window()
    window.show()

    def broken(progress, cancel):
        raise UnreadableInput("/studies/ct/IM0001: not a DICOM file")

    job = window.runner.submit("Open study", broken)
    qtbot.waitUntil(lambda: len(window.error_dialogs) == 1, timeout=10_000)
    box = window.error_dialogs[0]
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert "IM0001: not a DICOM file" in box.text()
    assert job.state.value == "failed"
    box.accept()
    qtbot.waitUntil(lambda: not window.error_dialogs, timeout=5_000)
    follow_up = window.runner.submit("Next", lambda progress, cancel: 42)
    qtbot.waitUntil(lambda: follow_up.result == 42, timeout=10_000)


@pytest.mark.slow
def test_engine_starts_after_first_paint_and_shows_the_device(make_window, qtbot):
    window = make_window(start_engine=True)
    assert window.device_status.text() == "Device: detecting…"
    window.show()
    qtbot.waitUntil(lambda: bool(window.runner.jobs), timeout=5_000)
    assert {job.title for job in window.runner.jobs} == {
        "Start compute engine", "List AI models", "List generation models"
    }
    qtbot.waitUntil(lambda: window.device_status.text() != "Device: detecting…", timeout=120_000)
    assert window.device_status.text() == f"Device: {window.device_label}"
    assert window.device_label.startswith(("CPU (", "CUDA: ", "Apple MPS"))
    assert "torch" in window.engine_versions


def test_jobs_panel_shows_progress_and_cancels(make_window, qtbot):
    window = make_window()
    job = window.verify_engine()
    row = window.jobs_panel.rows[-1]
    qtbot.waitUntil(lambda: row.bar.value() > 100, timeout=60_000)
    assert row.cancel_button.isEnabled()
    row.cancel_button.click()
    qtbot.waitUntil(lambda: job.state.finished, timeout=5_000)
    assert row.item.text(1) == "cancelled" and not row.cancel_button.isEnabled()
    window.jobs_panel.clear_finished()
    assert window.jobs_panel.tree.topLevelItemCount() == 0


@pytest.fixture
def damaged_index(tmp_path, monkeypatch):
    """The user's study index, listing a copy of the GE slices, with damaged pages; returns it and its bytes."""
    monkeypatch.setenv("MEDSTATION_HOME", str(tmp_path / "home"))
    folder = tmp_path / "ge"
    shutil.copytree(GE_TILT, folder)
    path = default_database_path()
    indexed_database(path, folder)
    return path, damage_middle_pages(path)


def _answer_rebuild(monkeypatch, answer: QMessageBox.StandardButton) -> list[str]:
    asked: list[str] = []

    def question(parent, title, text, buttons, default):
        asked.append(text)
        return answer

    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    return asked


def test_a_damaged_study_index_is_rebuilt_when_the_user_agrees(qapp, qtbot, settings, damaged_index, monkeypatch):
    path, damaged = damaged_index
    asked = _answer_rebuild(monkeypatch, QMessageBox.StandardButton.Yes)
    create_application()
    window = MainWindow(JobRunner(), settings, start_engine_on_first_paint=False)
    try:
        assert len(asked) == 1 and str(path) in asked[0]
        (kept,) = path.parent.glob("studies.sqlite.damaged-*")
        assert kept.read_bytes() == damaged, "the damaged file is kept as it was"
        assert window.rebuilt.kept == kept
        (job,) = [job for job in window.runner.jobs if job.title == "Rebuild study index"]
        qtbot.waitUntil(lambda: job.state.finished, timeout=30_000)
        qtbot.waitUntil(lambda: window.study_browser.tree.topLevelItemCount() == 1, timeout=5_000)
        assert window.database.patients()[0].patient_id != "FILLER"
    finally:
        close_window(qapp, window)


def test_a_damaged_study_index_is_left_as_it_was_when_the_user_declines(qapp, settings, damaged_index, monkeypatch):
    path, damaged = damaged_index
    asked = _answer_rebuild(monkeypatch, QMessageBox.StandardButton.No)
    create_application()
    with pytest.raises(UnreadableInput, match=r"the study database is damaged .*rebuild"):
        MainWindow(JobRunner(), settings, start_engine_on_first_paint=False)
    assert len(asked) == 1
    assert path.read_bytes() == damaged and not list(path.parent.glob("*.damaged-*"))


def test_the_study_browser_shows_a_database_error_instead_of_raising(make_window, tmp_path):
    window = make_window()
    path = window.database.path
    window.database.close()
    indexed_database(path, GE_TILT)
    damage_middle_pages(path)
    window.database = window.study_browser.database = StudyDatabase(path)
    window.study_browser.refresh()
    assert window.study_browser.tree.topLevelItemCount() == 1
    assert "the study database is damaged" in window.study_browser.tree.topLevelItem(0).text(0)


def test_the_viewer_gets_the_height_until_a_timeline_opens_and_reset_keeps_it(make_window, settings):
    window = make_window()
    window.resize(1400, 900)
    window.show()
    assert window.docks["timeline"].isHidden() and window.docks["jobs"].isHidden()
    window.show_timelines("1 patient")
    assert not window.docks["timeline"].isHidden()
    window.reset_layout()
    assert not window.docks["timeline"].isHidden(), "an open timeline stays open on Reset layout"
    settings.save_window_layout(window.saveGeometry(), window.saveState(LAYOUT_VERSION))
    window.close()
    again = make_window()
    assert again.docks["timeline"].isHidden(), "a saved layout does not open an empty timeline"
