"""The Compare layout's second viewer: a chosen series (a prior study, another series) beside the current one.

Usage::

    compare = CompareView(main_viewer, runner, database)
    compare.open_series(row)          # a SeriesRow of the study database; loads in a job
    compare.link_action               # checkable: follow the current series (scroll, crosshair, zoom/pan, W/L)

The two viewers keep their own layouts (single view or MPR) and tools; :class:`~medstation.core.view_link.ViewLink`
links their models, by patient position when they share a frame of reference, else by slice fraction. When the
current series changes to another patient's, the compared series is closed: two patients are never side by side.
A SEG or Parametric Map of the compared series, opened again, is drawn here (:meth:`CompareView.open_series_shown`,
:mod:`medstation.ui.viewer.result_layers`), and its key images carry their KEY badge here as in the main viewer.
"""

from __future__ import annotations

from contextlib import suppress
from functools import partial

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from medstation.core.reslice import VIEWS
from medstation.core.view_link import POSITION, ViewLink
from medstation.core.view_state import ViewState
from medstation.errors import MedStationError
from medstation.io.database import SeriesRow, StudyDatabase, series_to_compare
from medstation.io.measurement_store import MeasurementStore
from medstation.io.open_study import OpenedStudy
from medstation.ui.jobs import Job, JobRunner
from medstation.ui.panels.results_panel import OpenSeries
from medstation.ui.study_opening import StudyOpener, warnings_to_show
from medstation.ui.viewer.annotations import study_moment
from medstation.ui.viewer.viewer_widget import ViewerWidget

LINK_KEY = "Ctrl+Shift+L"
EMPTY_TEXT = "Choose a prior in the study browser's Priors list, or a series above, to compare."
_LINK_TEXT_STYLE = "color: #9ecfff;"


class CompareView(QWidget):
    """A second :class:`ViewerWidget` beside ``primary`` (the current series), linked to it while Link is on.

    Parameters
    ----------
    primary
        The main viewer; the compared series follows its model.
    runner, database
        Series open in jobs of ``runner``; the series list comes from ``database``.
    measurement_store
        Where the compared series' measurements are kept, as for the main viewer.
    """

    def __init__(self, primary: ViewerWidget, runner: JobRunner, database: StudyDatabase,
                 measurement_store: MeasurementStore | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.primary = primary
        self.database = database
        self.link: ViewLink | None = None
        self.viewer = ViewerWidget(measurement_store=measurement_store)
        self.viewer.empty_label.setText(EMPTY_TEXT)
        self.viewer.empty_label.setWordWrap(True)
        self.opener = StudyOpener(runner, database, self)
        self._pending: Job | None = None
        self.opened: OpenedStudy | None = None
        """The series shown here, as it was loaded (None until one is)."""
        self.last_job: Job | None = None
        """The job of the series asked for last."""
        self._resize_hooks: list = []

        self.link_action = QAction("Link compared series", self)
        self.link_action.setCheckable(True)
        self.link_action.setChecked(True)
        self.link_action.setShortcut(QKeySequence(LINK_KEY))
        self.link_action.setIconText("Link")
        self.link_action.setToolTip("Scroll, crosshair, zoom/pan and window of the two series together "
                                    f"({LINK_KEY})")
        self.link_action.toggled.connect(self._link_toggled)
        self.series_box = QComboBox()
        self.series_box.setPlaceholderText("Choose a series to compare…")
        self.series_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.series_box.setMinimumContentsLength(18)
        self.series_box.activated.connect(self._series_chosen)
        link_button = QToolButton()
        link_button.setDefaultAction(self.link_action)
        self.link_text = QLabel()
        self.link_text.setStyleSheet(_LINK_TEXT_STYLE)
        header = QWidget()
        row = QHBoxLayout(header)
        row.setContentsMargins(4, 0, 4, 0)
        row.addWidget(QLabel("Compare with"))
        row.addWidget(self.series_box, 1)
        row.addWidget(link_button)
        row.addWidget(self.link_text)
        toolbar = self.viewer.toolbar  # in the toolbar's row, so both viewers' pictures start at the same height
        toolbar.insertSeparator(toolbar.actions()[0])
        toolbar.insertWidget(toolbar.actions()[0], header)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.viewer)

        primary.state_changed.connect(self._primary_changed)
        self.viewer.state_changed.connect(self._relink)
        self._relink()

    # public API ------------------------------------------------------------------------------------------
    def open_series(self, row: SeriesRow) -> Job:
        """Load ``row`` in a job and show it here when it is the last one asked for."""
        job = self._pending = self.last_job = self.opener.open_series(row)
        job.succeeded.connect(lambda opened, job=job: self._loaded(job, opened))
        return job

    def open_newest_prior(self) -> Job | None:
        """Open the series of the current patient's newest other study that best matches the current series."""
        state = self.primary.state
        if state is None:
            return None
        info = state.volume.info
        try:
            for study in self.database.priors(info.patient_id, info.study_uid):
                row = series_to_compare(self.database.series(study.study_uid), info.modality,
                                        info.series_description)
                if row is not None:
                    return self.open_series(row)
        except MedStationError:
            return None
        return None

    def show_study(self, opened: OpenedStudy) -> ViewState:
        """Show a loaded series here, with its warnings, linked to the current one."""
        state = self.viewer.set_volume(opened.volume)
        self.opened = opened
        self.viewer.banner.show_warnings(warnings_to_show(opened))
        self._select_shown_series()
        return state

    def open_series_shown(self) -> OpenSeries | None:
        """The series shown here and where it was opened from; None while none is, or while Compare is hidden."""
        state, opened = self.viewer.state, self.opened
        if self.isHidden() or state is None or opened is None or opened.volume is not state.volume:
            return None
        return OpenSeries(opened.volume, opened.source)

    def refresh_series(self) -> None:
        """List the current patient's series (newest study first), the current series left out."""
        self.series_box.clear()
        state = self.primary.state
        if state is None:
            return
        info = state.volume.info
        try:
            studies = self.database.studies(info.patient_id) if info.patient_id.strip() else []
            rows = [(study, row) for study in studies for row in self.database.series(study.study_uid)]
        except MedStationError:
            return
        for study, row in rows:
            if row.series_uid == info.series_uid:
                continue
            when = study_moment(study.study_date, "") or "no date"
            this = " (this study)" if study.study_uid == info.study_uid else ""
            number = "" if row.series_number is None else f"{row.series_number} "
            self.series_box.addItem(f"{when}{this}  {study.study_description}  —  {number}{row.modality} "
                                    f"{row.series_description}".strip(), row)
        self._select_shown_series()

    # linking ---------------------------------------------------------------------------------------------
    def _relink(self) -> None:
        """A new link between the two viewers' current models (none while either is empty or this is hidden)."""
        if self.link is not None:
            self.link.close()
            self.link = None
        for signal, hook in self._resize_hooks:
            with suppress(RuntimeError):  # the view was deleted with its volume
                signal.disconnect(hook)
        self._resize_hooks = []
        first, second = self.primary.state, self.viewer.state
        if first is not None and second is not None and not self.isHidden():
            self.link = ViewLink(first, second, self.link_action.isChecked(), viewport_size=self._viewport_size)
            for viewer in (self.primary, self.viewer):
                for view in VIEWS:
                    hook = partial(self._view_resized, view)
                    viewer.views[view].view_box.sigResized.connect(hook)
                    self._resize_hooks.append((viewer.views[view].view_box.sigResized, hook))
        self._show_link_text()

    def _view_resized(self, view: str, *_) -> None:
        """A view's size sets its mm per pixel: the compared view follows the current one again."""
        if self.link is not None:
            self.link.align_camera(view)

    def _link_toggled(self, linked: bool) -> None:
        if self.link is not None:
            self.link.set_linked(linked)
        self._show_link_text()

    def _show_link_text(self) -> None:
        link = self.link
        if link is None:
            text, tip = "", ""
        elif not link.linked:
            text, tip = "off", "Not linked: each series scrolls, zooms and windows alone"
        elif link.mode == POSITION:
            text, tip = "by position", ("Linked by patient position: the two series share a frame of reference, so "
                                        "the same point is under both crosshairs")
        else:
            text, tip = "by slice fraction", ("Linked by slice fraction: the series have different frames of "
                                              "reference, so each shows the same fraction of its extent")
        self.link_text.setText(text)
        self.link_text.setToolTip(tip)

    def _viewport_size(self, state: ViewState, view: str) -> tuple[float, float]:
        viewer = self.primary if state is self.primary.state else self.viewer
        slice_view = viewer.views.get(view)
        if slice_view is None:
            return 1.0, 1.0
        size = slice_view.graphics.viewport().size()
        return float(size.width()), float(size.height())

    # events ----------------------------------------------------------------------------------------------
    def showEvent(self, event) -> None:
        """Shown again: the compared series catches up with the current one."""
        super().showEvent(event)
        if self.link is None:
            self._relink()

    def hideEvent(self, event) -> None:
        """Hidden: the link is dropped, so scrolling the current series redraws nothing here."""
        super().hideEvent(event)
        if self.isHidden():
            self._relink()

    def _primary_changed(self) -> None:
        current, compared = self.primary.state, self.viewer.state
        if current is not None and compared is not None and (
                current.volume.info.patient_id != compared.volume.info.patient_id):
            self.viewer.close_volume()
            self.viewer.banner.show_warnings([])
        self.refresh_series()
        self._relink()

    def _series_chosen(self, index: int) -> None:
        row = self.series_box.itemData(index)
        if row is not None:
            self.open_series(row)

    def _loaded(self, job: Job, opened: OpenedStudy) -> None:
        if job is not self._pending:
            return
        self._pending = None
        current = self.primary.state
        if current is not None and current.volume.info.patient_id != opened.volume.info.patient_id:
            self.viewer.banner.show_warnings(["The series loaded is another patient's: it is not shown beside the "
                                              "current study."])
            return
        self.show_study(opened)

    def _select_shown_series(self) -> None:
        state = self.viewer.state
        uid = state.volume.info.series_uid if state is not None else None
        index = next((number for number in range(self.series_box.count())
                      if uid and self.series_box.itemData(number).series_uid == uid), -1)
        self.series_box.setCurrentIndex(index)
