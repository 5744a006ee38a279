"""The workstation's main window: viewer area, docks, menus, shortcuts and status bar."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, QUrl
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import QDockWidget, QFileDialog, QLabel, QMainWindow, QMessageBox, QSplitter, QWidget

from medstation.core.layers import OverlayLayer
from medstation.engine.runtime.device import ENV_VARIABLE
from medstation.engine.saliency.analysis import ImageAnalysis, saliency_layer
from medstation.errors import MedStationError
from medstation.io.database import RebuiltDatabase, SeriesRow, StudyDatabase, import_folders
from medstation.io.formats import IMAGE_FORMATS, PYDICOM, format_of
from medstation.io.measurement_store import MeasurementStore
from medstation.io.open_study import OpenedStudy
from medstation.paths import log_dir
from medstation.ui.dialogs.about import AboutDialog
from medstation.ui.dialogs.preferences import PreferencesDialog
from medstation.ui.dialogs.shortcuts import ShortcutsDialog
from medstation.ui.export.key_images import KeyImages
from medstation.ui.export.tasks import Reading
from medstation.ui.hanging_protocols import HangingProtocols
from medstation.ui.jobs import QUIT_GRACE_MS, Job, JobRunner
from medstation.ui.panels.ai_panel import AIPanel
from medstation.ui.panels.generator_panel import GeneratorPanel
from medstation.ui.panels.jobs_panel import JobsPanel
from medstation.ui.panels.results_panel import OpenSeries, PlacedLayer, ResultsPanel
from medstation.ui.panels.study_browser import StudyBrowser
from medstation.ui.panels.timeline_panel import TimelinePanel
from medstation.ui.recent_menu import RecentMenu
from medstation.ui.settings import Settings
from medstation.ui.study_index import open_study_index
from medstation.ui.study_opening import StudyOpener, dropped_paths, other_files_count, warnings_to_show
from medstation.ui.timeline_opening import TimelineOpener, is_timeline_file
from medstation.ui.viewer.compare_view import CompareView
from medstation.ui.viewer.result_layers import place_layer
from medstation.ui.viewer.viewer_widget import ViewerWidget

log = logging.getLogger(__name__)

LAYOUT_VERSION = 3
"""Version of the dock set: a saved layout of another version (other docks) is not restored."""


def _patterns(suffixes) -> str:
    return " ".join(f"*{suffix}" for suffix in suffixes)


def _image_file_filter() -> str:
    """The open dialog's filters: every format MedStation opens, then each one, then any file (DICOM files often
    have no suffix)."""
    every = [suffix for image_format in IMAGE_FORMATS for suffix in image_format.suffixes]
    each = [f"{image_format.name} ({_patterns(image_format.suffixes)})" for image_format in IMAGE_FORMATS]
    return ";;".join([f"Images ({_patterns(every)})", *each, "All files (*)"])


IMAGE_FILE_FILTER = _image_file_filter()


class MainWindow(QMainWindow):
    def __init__(
        self,
        runner: JobRunner,
        settings: Settings,
        database: StudyDatabase | None = None,
        start_engine_on_first_paint: bool = True,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.runner = runner
        self.settings = settings
        self.rebuilt: RebuiltDatabase | None = None
        if database is None:
            database, self.rebuilt = open_study_index()
        self.database = database
        self.device_label = "detecting…"
        self.engine_versions: dict[str, str] = {}
        self.retry_engine_start = False
        self.error_dialogs: list[QMessageBox] = []
        self.pacs_window = None
        self.batch_window = None
        self.setWindowTitle("MedStation")
        self.resize(1440, 900)

        measurements = MeasurementStore()
        self.viewer = ViewerWidget(measurement_store=measurements)
        self.study_browser = StudyBrowser(self.database, runner, measurement_store=measurements)
        self.viewer.measurements_saved.connect(lambda _uid: self.study_browser.refresh())
        self.opener = StudyOpener(runner, self.database, self)
        self.opener.opened.connect(self.show_study)
        self.hanging = HangingProtocols(self)
        self.hanging.prior_wanted.connect(self.compare_with_prior)
        self.setAcceptDrops(True)
        self.readout = QLabel("")
        self.viewer.readout_changed.connect(self.readout.setText)
        self.viewer.measurement_not_saved.connect(lambda message: self.statusBar().showMessage(message, 10_000))
        self.study_browser.series_activated.connect(self.opener.open_series)
        self.compare = CompareView(self.viewer, runner, self.database, MeasurementStore())
        self.compare.viewer.readout_changed.connect(self.readout.setText)
        self.study_browser.priors.compare_requested.connect(self.open_in_compare)
        self.viewer_area = QSplitter(Qt.Orientation.Horizontal)
        self.viewer_area.addWidget(self.viewer)
        self.viewer_area.addWidget(self.compare)
        self.compare.hide()
        self.setCentralWidget(self.viewer_area)

        self.ai_panel = AIPanel(runner)
        self.ai_panel.analysed.connect(self.show_analysis)
        self.saliency_layer: OverlayLayer | None = None
        self.analysis: ImageAnalysis | None = None
        self.opened: OpenedStudy | None = None
        self.key_images = KeyImages()
        for viewer in (self.viewer, self.compare.viewer):
            viewer.set_key_images(self.key_images)
        self.export_dialog = None
        self.results_panel = ResultsPanel(runner, self.shown_series)
        self.results_panel.layer_opened.connect(self.show_result_layer)
        self.results_panel.report_opened.connect(lambda _path: (self.docks["results"].show(),
                                                                self.docks["results"].raise_()))
        self.results_panel.message.connect(lambda text: self.statusBar().showMessage(text, 10_000))
        self.generator_panel = GeneratorPanel(runner)
        self.generator_panel.open_requested.connect(self.show_study)
        self.jobs_panel = JobsPanel(runner)
        self.timeline_panel = TimelinePanel(runner)
        self.timeline_panel.study_requested.connect(self.opener.open_reference)
        self.timeline_opener = TimelineOpener(runner, self.database, self.timeline_panel, self)
        self.timeline_opener.opened.connect(self.show_timelines)
        area = Qt.DockWidgetArea
        self.docks = {
            "studies": self._add_dock("Study browser", self.study_browser, area.LeftDockWidgetArea),
            "ai": self._add_dock("AI", self.ai_panel, area.RightDockWidgetArea),
            "generator": self._add_dock("Generator", self.generator_panel, area.RightDockWidgetArea),
            "layers": self._add_dock("Layers", self.viewer.layers_panel, area.RightDockWidgetArea),
            "measurements": self._add_dock("Measurements", self.viewer.measurements_panel, area.RightDockWidgetArea),
            "results": self._add_dock("Results", self.results_panel, area.RightDockWidgetArea),
            "timeline": self._add_dock("Timeline", self.timeline_panel, area.BottomDockWidgetArea),
            "jobs": self._add_dock("Jobs", self.jobs_panel, area.BottomDockWidgetArea),
        }
        self.tabifyDockWidget(self.docks["ai"], self.docks["generator"])
        self.tabifyDockWidget(self.docks["generator"], self.docks["layers"])
        self.tabifyDockWidget(self.docks["layers"], self.docks["measurements"])
        self.tabifyDockWidget(self.docks["measurements"], self.docks["results"])
        self.docks["ai"].raise_()
        self.tabifyDockWidget(self.docks["timeline"], self.docks["jobs"])
        self.docks["timeline"].raise_()
        self.resizeDocks([self.docks["studies"], self.docks["ai"]], [280, 320], Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["timeline"]], [180], Qt.Orientation.Vertical)
        # The bottom docks wait until there is something to show: the viewer gets the window's full height.
        self.docks["timeline"].hide()
        self.docks["jobs"].hide()
        self._default_state = self.saveState(LAYOUT_VERSION)

        self.device_status = QLabel("Device: detecting…")
        self.jobs_status = QLabel("")
        self.statusBar().addPermanentWidget(self.hanging.label)
        self.statusBar().addPermanentWidget(self.readout)
        self.statusBar().addPermanentWidget(self.jobs_status)
        self.statusBar().addPermanentWidget(self.device_status)
        self.statusBar().showMessage("Ready")

        self.actions: list[QAction] = []
        self._build_menus()
        runner.job_added.connect(self._watch_job)
        self._restore_layout()
        if start_engine_on_first_paint:
            self.statusBar().installEventFilter(self)
        if self.rebuilt is not None:
            self.statusBar().showMessage(f"Study index rebuilt; the damaged file is kept as {self.rebuilt.kept}")
            if self.rebuilt.roots:
                self.reindex(self.rebuilt.roots)

    # construction -----------------------------------------------------------------------------------
    def _add_dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock-{title.lower().replace(' ', '-')}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _action(self, menu, text: str, slot, shortcut: QKeySequence | str | None = None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        menu.addAction(action)
        self.actions.append(action)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self._action(file_menu, "&Open folder…", self.ask_open_folder, "Ctrl+O")
        self._action(file_menu, "Open &file…", self.ask_open_file, "Ctrl+Shift+O")
        self.recent_menu = RecentMenu(self.settings, lambda path: self.open_paths([Path(path)]), self)
        self.opener.path_opened.connect(self.recent_menu.add)
        file_menu.addMenu(self.recent_menu)
        self._action(file_menu, "Open &timeline…", self.timeline_opener.ask_open_file)
        self._action(file_menu, "Open timeline fol&der…", self.timeline_opener.ask_open_folder)
        file_menu.addSeparator()
        self._action(file_menu, "&PACS…", self.show_pacs, "Ctrl+Shift+P")
        file_menu.addSeparator()
        self._action(file_menu, "&Export…", self.show_export, "Ctrl+E")
        self._action(file_menu, "Save AI result as &DICOM…", lambda: self.show_export("ai"))
        self._action(file_menu, "Export &key images…", lambda: self.show_export("kos"))
        file_menu.addSeparator()
        self._action(file_menu, "&Preferences…", self.show_preferences, "Ctrl+,")
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, "Ctrl+Q")

        view_menu = bar.addMenu("&View")
        dock_keys = {
            "studies": "Ctrl+Shift+B",
            "ai": "Ctrl+Shift+A",
            "generator": "",
            "layers": "",
            "measurements": "",
            "results": "",
            "timeline": "Ctrl+Shift+T",
            "jobs": "Ctrl+Shift+J",
        }
        for key, shortcut in dock_keys.items():
            toggle = self.docks[key].toggleViewAction()
            view_menu.addAction(toggle)
            if shortcut:
                toggle.setShortcut(QKeySequence(shortcut))
                self.actions.append(toggle)
        view_menu.addSeparator()
        self.compare_action = self._action(view_menu, "&Compare with a prior", self.set_compare, "Ctrl+4")
        self.compare_action.setCheckable(True)
        view_menu.addAction(self.compare.link_action)
        self.actions.append(self.compare.link_action)
        view_menu.addSeparator()
        self._action(view_menu, "&Next series of the study", lambda: self.open_adjacent_series(1), "Ctrl+PgDown")
        self._action(view_menu, "Pre&vious series of the study", lambda: self.open_adjacent_series(-1), "Ctrl+PgUp")
        view_menu.addSeparator()
        self._action(view_menu, "Open &sample timeline", self.timeline_opener.open_sample)
        self._action(view_menu, "&Reset layout", self.reset_layout, "Ctrl+Shift+R")
        self._action(view_menu, "&Full screen", self.toggle_full_screen, "F11")

        tools_menu = bar.addMenu("&Tools")
        for action in self.viewer.actions():
            tools_menu.addAction(action)
        tools_menu.addSeparator()
        self._action(tools_menu, "Flag as &key image", self.toggle_key_image, "K")
        tools_menu.addSeparator()
        self._action(tools_menu, "Open &log folder", self.open_log_folder)
        self._action(tools_menu, "Edit &hanging protocols…", self.hanging.edit)

        ai_menu = bar.addMenu("&AI")
        self._action(ai_menu, "&Verify compute engine", self.verify_engine, "Ctrl+Shift+V")
        self._action(ai_menu, "&Generate synthetic images…", self.show_generator, "Ctrl+Shift+G")
        self._action(ai_menu, "&Batch analysis…", self.show_batch_analysis)
        self._action(ai_menu, "Compute &device…", self.show_preferences)

        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "&Keyboard shortcuts", self.show_shortcuts, "F1")
        self._action(help_menu, "Run &self-test", self.run_self_test)
        self._action(help_menu, "&About MedStation", self.show_about)

    def _restore_layout(self) -> None:
        geometry, state = self.settings.window_layout()
        if geometry is not None:
            self.restoreGeometry(geometry)
            self._fit_on_screen()
        if state is not None and not self.restoreState(state, LAYOUT_VERSION):
            log.info("saved window layout is from another set of docks; using the default layout")
        self.docks["timeline"].hide()  # it opens with a timeline, whatever the saved layout says

    def _fit_on_screen(self) -> None:
        """Shrink and move a restored window that no longer fits the screen (saved on a larger or other monitor),
        so no dock is left beyond the screen's edge."""
        screen = self.screen().availableGeometry()
        if screen.contains(self.geometry()):
            return
        width, height = min(self.width(), screen.width()), min(self.height(), screen.height())
        self.resize(width, height)
        self.move(
            min(max(self.x(), screen.left()), screen.right() + 1 - width),
            min(max(self.y(), screen.top()), screen.bottom() + 1 - height),
        )

    # engine start-up -------------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.statusBar() and event.type() == QEvent.Type.Paint:
            self.statusBar().removeEventFilter(self)
            QTimer.singleShot(0, self.start_engine)
        return super().eventFilter(watched, event)

    def start_engine(self) -> Job | None:
        """List the models, import the engine and detect the compute device in workers (after the first paint)."""
        if self.runner.closed:
            return None
        self.ai_panel.refresh_models()
        self.generator_panel.refresh_models()
        return self._warm_engine()

    def _warm_engine(self) -> Job:
        from medstation.engine.runtime.warmup import warm_engine

        self.retry_engine_start = False
        self.device_status.setText("Device: detecting…")
        job = self.runner.submit("Start compute engine", warm_engine, self.settings.device)
        job.succeeded.connect(self._engine_ready)
        job.failed.connect(self._engine_failed)
        return job

    def _engine_failed(self, error: BaseException) -> None:
        """The device is unavailable; the next job started tries the engine again, unless the saved device setting
        is at fault (changing it in Preferences starts the engine again)."""
        self.device_status.setText("Device: unavailable")
        self.retry_engine_start = not isinstance(error, MedStationError)

    def _engine_ready(self, result) -> None:
        info, versions = result
        self.device_label = info.label()
        self.engine_versions = versions
        self.device_status.setText(f"Device: {self.device_label}")
        self.device_status.setToolTip(f"{info.name}; chosen by {info.source}; torch {versions['torch']}")
        log.info("compute device %s (%s)", info.device, info.source)

    # jobs --------------------------------------------------------------------------------------------
    def _watch_job(self, job: Job) -> None:
        if self.retry_engine_start and not self.runner.closed:
            self._warm_engine()
        job.failed.connect(lambda error, job=job: self.show_job_error(job, error))
        job.finished.connect(self._update_jobs_status)
        self._update_jobs_status()

    def _update_jobs_status(self) -> None:
        running = len(self.runner.active_jobs())
        self.jobs_status.setText(f"{running} job{'s' if running != 1 else ''} running" if running else "")

    def show_job_error(self, job: Job, error: BaseException) -> QMessageBox:
        """A non-blocking error dialog; the application carries on."""
        expected = isinstance(error, MedStationError)
        text = str(error) if expected else f"Unexpected error: {type(error).__name__}: {error}"
        box = QMessageBox(QMessageBox.Icon.Critical, f"{job.title} failed", text, QMessageBox.StandardButton.Ok, self)
        if not expected:
            box.setInformativeText(f"Details were written to the log in {log_dir()}.")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(lambda _=None, box=box: self.error_dialogs.remove(box))
        self.error_dialogs.append(box)
        box.open()
        self.statusBar().showMessage(f"{job.title} failed: {text}", 10_000)
        return box

    def verify_engine(self) -> Job:
        """Run the training check on the selected device as a job."""
        from medstation.engine.runtime.smoke import run_training_check

        job = self.runner.submit("Verify compute engine", run_training_check)
        job.succeeded.connect(
            lambda result: self.statusBar().showMessage(
                f"Compute engine {'works' if result.learned else 'FAILED to learn'}: accuracy {result.accuracy:.2f} "
                f"on {result.device} in {result.seconds:.1f} s",
                15_000,
            )
        )
        return job

    def run_self_test(self) -> Job:
        """``medstation self-test`` as a job; the checks that draw with Qt follow on this thread, then a report."""
        from medstation.selftest import run_background_checks

        job = self.runner.submit("Self-test", run_background_checks)
        job.succeeded.connect(self._show_self_test)
        return job

    def _show_self_test(self, results: list) -> QMessageBox:
        from medstation.selftest import format_results, run_qt_checks

        results = [*results, *run_qt_checks()]
        passed = all(result.ok for result in results)
        icon = QMessageBox.Icon.Information if passed else QMessageBox.Icon.Warning
        box = QMessageBox(icon, "Self-test", format_results(results).splitlines()[-1], QMessageBox.StandardButton.Ok,
                          self)
        box.setDetailedText(format_results(results))
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.statusBar().showMessage(f"Self-test: {format_results(results).splitlines()[-1]}", 15_000)
        return box

    # studies ---------------------------------------------------------------------------------------------
    def reindex(self, folders: list) -> Job:
        """Import these folders again in a job (after a rebuild of the study index), then list them."""
        job = self.runner.submit("Rebuild study index", import_folders, folders, self.database.path)
        job.succeeded.connect(self._reindexed)
        return job

    def _reindexed(self, reports: list) -> None:
        self.study_browser.refresh()
        self.statusBar().showMessage(f"Study index rebuilt: {len(reports)} folder(s) imported again", 10_000)

    def ask_open_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a DICOM folder")
        if folder:
            self.opener.open_path(folder)

    def ask_open_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open an image file", "", IMAGE_FILE_FILTER)
        if path:
            self.open_paths([Path(path)])

    def open_paths(self, paths: list[Path]) -> Job:
        """Open dropped, chosen or recent paths: a timeline file in the timeline panel; a DICOM SR, SEG or Parametric
        Map in the results panel (an SR listed, a SEG or map over whichever open viewer shows its source series);
        anything else as a study."""
        if len(paths) == 1 and is_timeline_file(paths[0]):
            return self.timeline_opener.open_path(paths[0])
        if len(paths) == 1 and paths[0].is_file() and format_of(paths[0]).reader == PYDICOM:
            return self.open_result_file(paths[0])
        return self.opener.open_paths(paths)

    def open_result_file(self, path: Path) -> Job:
        """Read a DICOM file in a job against the series of the main and the Compare viewer; the results panel shows
        what it is (an ordinary image goes on to the study opener)."""
        return self.results_panel.open_file(path, self.opener.open_path)

    def shown_series(self) -> list[OpenSeries]:
        """The series of the main viewer and of the Compare viewer when it is shown, main first."""
        return [series for series in (self.open_series(), self.compare.open_series_shown()) if series is not None]

    def open_adjacent_series(self, step: int) -> Job | None:
        """Open the next (``step`` 1) or previous (-1) series of the open study, in the study browser's order."""
        info = self.viewer.state.volume.info if self.viewer.state is not None else None
        job = self.opener.open_adjacent_series(info, step)
        if job is None:
            self.statusBar().showMessage(f"No {'next' if step > 0 else 'previous'} series in this study", 5_000)
        return job

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if dropped_paths(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = dropped_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self.open_paths(paths)

    def show_study(self, opened: OpenedStudy) -> None:
        """Show a loaded volume in the viewer and list its study in the browser."""
        protocol = self.hanging.show(self.viewer, opened.volume)
        self.viewer.banner.show_warnings(warnings_to_show(opened))
        self.saliency_layer = None
        self.analysis = None
        self.opened = opened
        self.ai_panel.set_volume(opened.volume)
        self.study_browser.priors.set_current(opened.volume.info)
        self.study_browser.refresh()
        info = opened.volume.info
        name = info.series_description or opened.source.name
        self.setWindowTitle(f"MedStation — {name}")
        others = other_files_count(opened)
        left_out = f"; {others} file(s) that are not images left out" if others else ""
        hung = f"; hanging protocol {protocol.name}" if protocol else ""
        self.statusBar().showMessage(
            f"Opened {name}: {'x'.join(map(str, opened.volume.array.shape))}, orientation {opened.volume.orientation}"
            f"{left_out}{hung}",
            10_000,
        )

    def set_compare(self, shown: bool, open_prior: bool = True) -> Job | None:
        """Show or hide the Compare layout: a second series beside the current one. Shown empty, it opens the
        current patient's newest prior (its series most like the current one), when there is one."""
        self.compare_action.setChecked(shown)
        self.compare.setVisible(shown)
        if not shown:
            return None
        half = max(self.viewer_area.width() // 2, 1)
        self.viewer_area.setSizes([half, half])
        return self.compare.open_newest_prior() if open_prior and self.compare.viewer.state is None else None

    def compare_with_prior(self, info) -> Job | None:
        """A hanging protocol's "prior beside it": Compare with the newest prior, when the patient has one."""
        if not self.database.priors(info.patient_id, info.study_uid):
            return None
        return self.set_compare(True)

    def open_in_compare(self, row: SeriesRow) -> Job:
        """Open a series (a prior from the study browser) beside the current study, in the Compare layout."""
        self.set_compare(True, open_prior=False)
        return self.compare.open_series(row)

    def show_timelines(self, summary: str) -> None:
        """Bring the timeline panel forward after timelines loaded, and say what was read."""
        dock = self.docks["timeline"]
        dock.show()
        dock.raise_()
        self.resizeDocks([dock], [max(dock.height(), self.height() // 2)], Qt.Orientation.Vertical)
        self.statusBar().showMessage(summary, 10_000)

    def show_generator(self) -> Job | None:
        """Bring the generator panel forward and list the generation models again."""
        self.docks["generator"].show()
        self.docks["generator"].raise_()
        return self.generator_panel.refresh_models()

    def show_analysis(self, analysis: ImageAnalysis) -> None:
        """Put the analysis' saliency map over the image (replacing the previous one) and raise the layers."""
        if analysis.explanation is None or self.viewer.state is None:
            return
        if self.saliency_layer is not None and self.saliency_layer in self.viewer.state.layers:
            self.viewer.state.remove_layer(self.saliency_layer)
        self.saliency_layer = saliency_layer(analysis)
        self.analysis = analysis
        self.viewer.add_overlay(self.saliency_layer)

    # export and results --------------------------------------------------------------------------------
    def open_series(self) -> OpenSeries | None:
        """The series in the viewer and where it was opened from (None when nothing is open)."""
        if self.viewer.state is None or self.opened is None or self.opened.volume is not self.viewer.state.volume:
            return None
        return OpenSeries(self.opened.volume, self.opened.source)

    def reading(self) -> Reading | None:
        """What an export takes of the open series: the AI result, layers, measurements, key images, window."""
        series, state = self.open_series(), self.viewer.state
        if series is None:
            return None
        saliency = self.saliency_layer if self.saliency_layer in state.layers else None
        return Reading(series.volume, series.source, self.analysis if saliency is not None else None, saliency,
                       [layer for layer in state.layers if layer.visible], list(state.measurements.items),
                       list(self.key_images.items), state.window, round(state.voxel[2]))

    def show_export(self, kind: str = "dicom"):
        """File > Export… (one dialog per window, not modal): ``kind`` chosen in it."""
        from medstation.io.pacs.nodes import load_nodes
        from medstation.ui.export.export_dialog import ExportDialog
        from medstation.ui.pacs.window import ask_node_secret

        if self.export_dialog is None:
            self.export_dialog = ExportDialog(self.runner, self.reading, load_nodes(),
                                              lambda node: ask_node_secret(self, node), kind, self)
            self.export_dialog.exported.connect(lambda done: self.statusBar().showMessage(done.summary, 10_000))
        else:
            self.export_dialog.set_kind(kind)
        self.export_dialog.show()
        self.export_dialog.raise_()
        return self.export_dialog

    def toggle_key_image(self) -> bool | None:
        """Flag the image under the crosshair as a key image, or unflag it; None when it cannot be flagged."""
        series = self.open_series()
        if series is None:
            return None
        k = round(self.viewer.state.voxel[2])
        try:
            flagged = self.key_images.toggle(series.source, series.volume.info, series.volume.spatial_shape[0], k)
        except ValueError as error:
            self.statusBar().showMessage(f"Not flagged: {error}", 10_000)
            return None
        count = len(self.key_images)
        self.statusBar().showMessage(f"Image {k + 1} {'flagged as a key image' if flagged else 'no longer a key image'}"
                                     f" ({count} key image{'s' if count != 1 else ''} in this study; File > Export "
                                     "key images… writes them as a Key Object Selection)", 10_000)
        return flagged

    def show_result_layer(self, placed: PlacedLayer) -> None:
        """A SEG or Parametric Map read for an open series, drawn over it in the main or the Compare viewer (unless
        another series opened there since); the Layers panel, the main viewer's, is raised for a layer there."""
        if place_layer([self.viewer, self.compare.viewer], placed) is self.viewer:
            self.docks["layers"].show()
            self.docks["layers"].raise_()

    # dialogs and view --------------------------------------------------------------------------------
    def show_preferences(self) -> None:
        dialog = PreferencesDialog(self.settings.device, os.environ.get(ENV_VARIABLE), self)
        if dialog.exec() and dialog.chosen_device() != self.settings.device:
            self.settings.device = dialog.chosen_device()
            self.start_engine()
        dialog.deleteLater()

    def show_pacs(self):
        """The PACS window (one per main window): what it retrieves or receives appears in the study browser."""
        from medstation.ui.pacs.window import PacsWindow

        if self.pacs_window is None:
            self.pacs_window = PacsWindow(self.runner, self.database.path, self.open_series_files, self)
            self.pacs_window.studies_changed.connect(self.study_browser.refresh)
        self.pacs_window.show()
        self.pacs_window.raise_()
        return self.pacs_window

    def show_batch_analysis(self):
        """The Batch analysis window (one per main window): a double-clicked row opens its image here."""
        from medstation.ui.batch.window import BatchWindow

        if self.batch_window is None:
            self.batch_window = BatchWindow(self.runner, self.database.path, self)
            self.batch_window.image_requested.connect(lambda path: self.open_paths([path]))
        self.batch_window.show()
        self.batch_window.raise_()
        return self.batch_window

    def open_series_files(self) -> list[Path]:
        """The files of the open series, as the study database lists them (none when it is not listed)."""
        info = self.viewer.state.volume.info if self.viewer.state is not None else None
        rows = self.database.series(info.study_uid) if info is not None else []
        return next((self.database.series_files(row) for row in rows if row.series_uid == info.series_uid), [])

    def show_shortcuts(self) -> None:
        dialog = ShortcutsDialog([*self.actions, *self.viewer.actions()], self.viewer.mouse_bindings(), self)
        dialog.exec()
        dialog.deleteLater()

    def show_about(self) -> None:
        dialog = AboutDialog(self.device_label, self)
        dialog.exec()
        dialog.deleteLater()

    def open_log_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(log_dir())))

    def reset_layout(self) -> None:
        """The default docks; the timeline stays open while a timeline is."""
        timeline_open = self.docks["timeline"].isVisible()
        self.restoreState(self._default_state, LAYOUT_VERSION)
        self.docks["timeline"].setVisible(timeline_open)

    def toggle_full_screen(self) -> None:
        self.showNormal() if self.isFullScreen() else self.showFullScreen()

    # shutdown ----------------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        self.settings.save_window_layout(self.saveGeometry(), self.saveState(LAYOUT_VERSION))
        self.settings.sync()
        if self.runner.active_jobs():
            self.statusBar().showMessage("Cancelling running jobs…")
        self.runner.shutdown(QUIT_GRACE_MS)
        for box in self.error_dialogs:
            box.close()
        if self.pacs_window is not None:
            self.pacs_window.close()
        if self.batch_window is not None:
            self.batch_window.close()
        if self.export_dialog is not None:
            self.export_dialog.close()
        self.viewer.close_volume()
        self.compare.viewer.close_volume()
        self.database.close()
        event.accept()
