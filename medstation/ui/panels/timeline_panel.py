"""The timeline panel: a patient's measurements over time, the forecast with its 80% interval, the risk and why.

The forecast (model load + forecast) runs as a job; the panel says "Forecasting…" until it arrives, and a
failure reaches the window's error dialog like every job's.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from medstation.core.forecast import PatientForecast
from medstation.core.timeline import Timeline
from medstation.engine.forecaster import DEFAULT_MODEL, forecast_patient
from medstation.ui.dialogs.model_card import show_model_card
from medstation.ui.jobs import Job, JobRunner
from medstation.ui.panels import timeline_text
from medstation.ui.panels.ai_panel import DISCLAIMER
from medstation.ui.panels.timeline_plots import RISK, TimelinePlots

DEFAULT_VARIABLES = ("HR", "MAP", "RespRate", "Temp", "Lactate", "GCS")
STAND_INS = {"MAP": "NIMAP"}
"""Where a default variable was not measured, the one shown in its place (non-invasive for invasive MAP)."""
VITALS_FIRST = ("HR", "MAP", "NIMAP", "SysABP", "NISysABP", "DiasABP", "NIDiasABP", "RespRate", "Temp", "SaO2",
                "FiO2", "MechVent", "GCS", "Urine", "Lactate")
TOP_CONTRIBUTORS = 5
EMPTY_TEXT = "Open a timeline (File > Open timeline…) or the sample (View > Open sample timeline)."
PICKER_STYLE = (
    "QListWidget::indicator { width: 11px; height: 11px; border: 1px solid #6a6a6a; background: #1b1b1b; }"
    "QListWidget::indicator:checked { background: #3d7ab8; border-color: #6aa6e0; }"
)


def picker_order(names: set[str]) -> list[str]:
    """Vital signs in bedside order, then the laboratory values alphabetically."""
    first = [name for name in VITALS_FIRST if name in names]
    return first + sorted(names - set(first), key=str.lower)


def default_variables(timeline: Timeline) -> list[str]:
    """The key variables measured for this patient (a stand-in where one is missing)."""
    chosen = []
    for name in DEFAULT_VARIABLES:
        if name not in timeline.series and STAND_INS.get(name) in timeline.series:
            name = STAND_INS[name]
        if name in timeline.series:
            chosen.append(name)
    return chosen


class TimelinePanel(QWidget):
    """Shows one patient of the loaded timelines, forecasts it in a job, and asks to open clicked studies.

    Signals
    -------
    study_requested(str)
        The reference (path or StudyInstanceUID) of a study marker the user clicked.
    """

    study_requested = Signal(str)

    def __init__(self, runner: JobRunner, forecaster: str = DEFAULT_MODEL, parent: QWidget | None = None):
        super().__init__(parent)
        self.runner = runner
        self.forecaster = forecaster
        self.timelines: list[Timeline] = []
        self.timeline: Timeline | None = None
        self.forecast: PatientForecast | None = None
        self.chosen: list[str] | None = None
        self.job: Job | None = None

        self.patients = QComboBox()
        self.patients.setMaxVisibleItems(20)
        self.patients.currentIndexChanged.connect(self.show_patient)
        self.patients_label = QLabel("Patient")
        self.summary = QLabel("")
        self.status = QLabel(EMPTY_TEXT)
        self.forecast_button = QPushButton("Forecast")
        self.forecast_button.setToolTip(f"Forecast the shown patient with {forecaster}")
        self.forecast_button.clicked.connect(self.start_forecast)
        self.card_button = QPushButton("Model card…")
        self.card_button.setToolTip(f"What {forecaster} was trained on, how well it did, and its limits")
        self.card_button.clicked.connect(self.show_card)
        self.picker = QListWidget()
        self.picker.setToolTip("Variables to plot")
        self.picker.setStyleSheet(PICKER_STYLE)
        self.picker.itemChanged.connect(self._picker_changed)
        self.plots = TimelinePlots()
        self.plots.study_clicked.connect(self.study_requested)
        self.plots.hovered.connect(self._show_readout)
        self.risk = QLabel("")
        self.risk.setWordWrap(True)
        self.contributors = QTreeWidget()
        self.contributors.setHeaderLabels(["Variable", "Log-odds", "Hours"])
        self.contributors.setToolTip(
            "Integrated-gradients attribution of the latest risk to each variable's observations, against the same "
            "patient with none, as a change in the log-odds of death; positive values raise the risk. Hours: when "
            "the observations that weigh most were made"
        )
        self.contributors.setRootIsDecorated(False)
        self.readout = QLabel("")
        for label in (self.summary, self.status, self.readout):
            # Long texts wrap instead of setting the panel's (and so the window's) minimum width.
            label.setWordWrap(True)
            label.setMinimumWidth(1)
        self._lay_out()
        self._update_controls()

    def _lay_out(self) -> None:
        """Header (patient, summary, status), then picker | plots | risk and contributors, then the readout."""
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.plots)
        disclaimer = QLabel(DISCLAIMER)
        disclaimer.setWordWrap(True)
        disclaimer.setObjectName("placeholder")
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.risk)
        side_layout.addWidget(QLabel("Top contributors to risk"))
        side_layout.addWidget(self.contributors, 1)
        side_layout.addWidget(disclaimer)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        for widget in (self.picker, scroll, side):
            splitter.addWidget(widget)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([150, 900, 320])
        header = QHBoxLayout()
        for widget, stretch in ((self.patients_label, 0), (self.patients, 0), (self.summary, 1), (self.status, 0),
                                (self.forecast_button, 0), (self.card_button, 0)):
            header.addWidget(widget, stretch)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addLayout(header)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.readout)

    # patients ----------------------------------------------------------------------------------------
    def set_timelines(self, timelines: list[Timeline]) -> None:
        """Offer these patients (a selector appears when there are several) and show the first."""
        self.timelines = list(timelines)
        self.patients.blockSignals(True)
        self.patients.clear()
        for timeline in self.timelines:
            self.patients.addItem(timeline.patient_id)
        self.patients.blockSignals(False)
        several = len(self.timelines) > 1
        self.patients.setVisible(several)
        self.patients_label.setVisible(several)
        if self.timelines:
            self.patients.setCurrentIndex(0)
            self.show_patient(0)

    def show_patient(self, index: int) -> None:
        """Plot patient ``index`` and start its forecast."""
        if not 0 <= index < len(self.timelines):
            return
        self.timeline = self.timelines[index]
        self.forecast = None
        self.summary.setText(timeline_text.patient_summary(self.timeline))
        self._fill_picker()
        self._show_forecast_details()
        self.redraw()
        self.start_forecast()

    # variables ---------------------------------------------------------------------------------------
    def _fill_picker(self) -> None:
        names = set(self.timeline.series)
        wanted = [name for name in (self.chosen or []) if name in names] or default_variables(self.timeline)
        self.picker.blockSignals(True)
        self.picker.clear()
        for name in picker_order(names):
            item = QListWidgetItem(name)
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if name in wanted else Qt.CheckState.Unchecked)
            count = len(self.timeline.series[name])
            item.setToolTip(f"{timeline_text.variable_description(name)}, {count} observations")
            self.picker.addItem(item)
        self.picker.blockSignals(False)

    def selected_variables(self) -> list[str]:
        """The checked variables, in picker order."""
        items = (self.picker.item(row) for row in range(self.picker.count()))
        return [item.data(Qt.ItemDataRole.UserRole) for item in items if item.checkState() == Qt.CheckState.Checked]

    def set_variable_shown(self, name: str, shown: bool) -> None:
        """Check or uncheck ``name`` in the picker (the plots follow)."""
        for row in range(self.picker.count()):
            item = self.picker.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == name:
                item.setCheckState(Qt.CheckState.Checked if shown else Qt.CheckState.Unchecked)

    def _picker_changed(self, _item: QListWidgetItem) -> None:
        self.chosen = self.selected_variables()
        self.redraw()

    def redraw(self) -> None:
        if self.timeline is not None:
            self.plots.draw(self.timeline, self.selected_variables(), self.forecast)

    # forecast ----------------------------------------------------------------------------------------
    def start_forecast(self) -> Job | None:
        """Forecast the shown patient in a job; a forecast still running for another patient is cancelled."""
        if self.timeline is None or self.runner.closed:
            return None
        if self.job is not None and not self.job.state.finished:
            self.job.cancel()
        timeline = self.timeline
        self.job = job = self.runner.submit(
            f"Forecast patient {timeline.patient_id}", forecast_patient, self.forecaster, timeline
        )
        job.succeeded.connect(lambda result, job=job: self._forecast_arrived(job, result))
        job.failed.connect(lambda error, job=job: self._forecast_failed(job, error))
        job.finished.connect(self._update_controls)
        self.status.setText("Forecasting…")
        self._update_controls()
        return job

    def _forecast_arrived(self, job: Job, forecast: PatientForecast) -> None:
        if job is not self.job:
            return
        self.forecast = forecast
        self.status.setText(f"Forecast from {timeline_text.hours_text(forecast.last_hour)} by {self.forecaster}")
        self._show_forecast_details()
        self.plots.add_forecast(forecast)

    def _forecast_failed(self, job: Job, error: BaseException) -> None:
        if job is self.job:
            self.status.setText("Forecast failed (see the message)")

    def _show_forecast_details(self) -> None:
        self.contributors.clear()
        forecast = self.forecast
        if forecast is None or not forecast.risk:
            self.risk.setText("")
            return
        hour, probability = forecast.risk[-1]
        self.risk.setText(
            f"<b>{timeline_text.RISK_NAME}: <span style='color:{RISK.name()}'>{probability:.0%}</span></b><br>"
            f"at {timeline_text.hours_text(hour)} ({self.forecaster})"
        )
        ranked = sorted(forecast.contributors, key=lambda c: abs(c.attribution), reverse=True)
        for contributor in ranked[:TOP_CONTRIBUTORS]:
            item = QTreeWidgetItem(list(timeline_text.contributor_row(contributor)))
            item.setToolTip(0, timeline_text.variable_description(contributor.variable))
            self.contributors.addTopLevelItem(item)
        for column in range(3):
            self.contributors.resizeColumnToContents(column)

    def show_card(self) -> Job:
        """The forecaster's model card, read in a job."""
        return show_model_card(self.runner, self.forecaster, self)

    def _update_controls(self) -> None:
        running = self.job is not None and not self.job.state.finished
        self.forecast_button.setEnabled(self.timeline is not None and not running)

    def _show_readout(self, text: str) -> None:
        self.readout.setText(text)
