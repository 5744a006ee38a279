"""Stacked plots of one patient on one linked time axis (hours since admission).

From the top: the risk trajectory (probability of in-hospital death, 0..1), then one plot per chosen variable
with its observations, the forecast median after the last observed hour and the shaded 80% interval (p10..p90).
Events are dashed vertical lines through every plot; study markers open the study when clicked.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QWidget

from medstation.core.forecast import ForecastPoint, PatientForecast
from medstation.core.timeline import VARIABLES, Event, Timeline
from medstation.ui.panels import timeline_text

BACKGROUND = "#1b1b1b"
AXIS = "#5a5a5a"
TEXT = "#c8c8c8"
OBSERVED = QColor("#6aa6e0")
FORECAST = QColor("#ffb74d")
BAND = QColor(255, 183, 77, 70)
BAND_EDGE = QColor(255, 183, 77, 120)
RISK = QColor("#ef6f6c")
RISK_FILL = QColor(239, 111, 108, 45)
STUDY = QColor("#ffd54a")
OTHER_EVENT = QColor("#9a9a9a")
LAST_HOUR = QColor(200, 200, 200, 110)
CURSOR = QColor(230, 230, 230, 120)
AXIS_WIDTH = 74
ROW_HEIGHT = 96
HOVER_TOLERANCE_PX = 8
MARKER_LABEL_CHARS = 36
FORECAST_ROOM_HOURS = 12.0
"""Hours after the last observation kept in view for the forecast (the shipped forecaster's horizon)."""
MIN_Y_SPAN = 0.1
"""The smallest y range, as a fraction of the variable's plausible range, so steady values look steady."""
RISK_KEY = "__risk__"


class _MarkerLabel(pg.InfLineLabel):
    """A marker's label; a click on it counts as a click on the marker."""

    def mouseClickEvent(self, ev) -> None:
        self.line.mouseClickEvent(ev)


class EventMarker(pg.InfiniteLine):
    """A vertical line at an event's hour; a study marker highlights under the mouse and is clickable."""

    def __init__(self, event: Event, labelled: bool):
        self.timeline_event = event
        self.clickable = event.kind == "study" and bool(event.reference)
        color = STUDY if event.kind == "study" else OTHER_EVENT
        super().__init__(
            pos=event.hour,
            angle=90,
            pen=pg.mkPen(color, width=1.5, style=Qt.PenStyle.DashLine),
            hoverPen=pg.mkPen(color, width=3),
            movable=False,
        )
        self.setZValue(15)
        when = timeline_text.hours_text(event.hour)
        self.setToolTip(f"{event.label} at {when}" + (": click to open the study" if self.clickable else ""))
        if self.clickable:
            self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.marker_label = (
            _MarkerLabel(
                self, timeline_text.elided(event.label, MARKER_LABEL_CHARS), position=0.92,
                anchors=[(-0.04, 0.5), (-0.04, 0.5)], color=color, fill=pg.mkBrush(27, 27, 27, 200),
            )
            if labelled
            else None
        )

    def hoverEvent(self, ev) -> None:
        hovering = self.clickable and not ev.isExit()
        if hovering:
            ev.acceptClicks(Qt.MouseButton.LeftButton)
        self.setMouseHover(hovering)

    def mouseClickEvent(self, ev) -> None:
        if self.clickable and ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            self.sigClicked.emit(self, ev)


class TimelinePlots(pg.GraphicsLayoutWidget):
    """The plots of one patient; ``draw`` rebuilds them, the mouse gives readouts and opens studies.

    Signals
    -------
    study_clicked(str)
        The reference (path or StudyInstanceUID) of a clicked study marker.
    hovered(str)
        The readout under the cursor, with units; "" when the cursor leaves the plots.
    """

    study_clicked = Signal(str)
    hovered = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setBackground(BACKGROUND)
        self.timeline: Timeline | None = None
        self.forecast: PatientForecast | None = None
        self.plots: dict[str, pg.PlotItem] = {}
        self.observed: dict[str, pg.PlotDataItem] = {}
        self.medians: dict[str, pg.PlotDataItem] = {}
        self.bands: dict[str, pg.FillBetweenItem] = {}
        self.risk_curve: pg.PlotDataItem | None = None
        self.markers: list[EventMarker] = []
        self.cursors: list[pg.InfiniteLine] = []
        self._span = (0.0, 1.0)
        self.ci.setSpacing(0)
        self.scene().sigMouseMoved.connect(self._mouse_moved)

    @property
    def risk_plot(self) -> pg.PlotItem:
        return self.plots[RISK_KEY]

    def draw(self, timeline: Timeline, variables: list[str], forecast: PatientForecast | None) -> None:
        """Redraw: risk on top, then ``variables`` in order, all on one linked time axis."""
        self.timeline, self.forecast = timeline, None
        self._arrange([RISK_KEY, *variables])
        self.observed, self.medians, self.bands = {}, {}, {}
        self.markers, self.cursors, self.risk_curve = [], [], None
        for variable in variables:
            self._draw_observed(timeline, variable)
        for plot in self.plots.values():
            for event in timeline.events:
                self._add_marker(plot, event, labelled=plot is self.risk_plot)
            cursor = pg.InfiniteLine(0, 90, pen=pg.mkPen(CURSOR))
            cursor.setVisible(False)
            plot.addItem(cursor, ignoreBounds=True)
            self.cursors.append(cursor)
        self._span = self._time_span(timeline, None)
        self.risk_plot.setXRange(*self._span, padding=0.01)
        self.setMinimumHeight(ROW_HEIGHT * len(self.plots) + 30)
        if forecast is not None:
            self.add_forecast(forecast)

    def add_forecast(self, forecast: PatientForecast) -> None:
        """Draw the forecast of the drawn patient over its plots: risk, medians, 80% bands, the last hour."""
        self.forecast = forecast
        self._draw_risk(forecast)
        for variable in self.plots.keys() - {RISK_KEY}:
            self._draw_forecast(variable, forecast.forecast.get(variable))
        for plot in self.plots.values():
            line = pg.InfiniteLine(forecast.last_hour, 90, pen=pg.mkPen(LAST_HOUR, style=Qt.PenStyle.DotLine))
            plot.addItem(line, ignoreBounds=True)
        span = self._time_span(self.timeline, forecast)
        if span[0] < self._span[0] or span[1] > self._span[1]:
            self._span = span
            self.risk_plot.setXRange(*span, padding=0.01)

    def _arrange(self, keys: list[str]) -> None:
        """One plot per key, in order: plots still wanted are emptied and kept (making one is slow), others go."""
        previous = self.plots
        for plot in previous.values():
            self.ci.removeItem(plot)
        self.plots = {}
        for row, key in enumerate(keys):
            plot = previous.pop(key, None)
            if plot is None:
                plot = self._new_plot(key)
            else:
                plot.clear()
            self.ci.addItem(plot, row=row, col=0)
            self.plots[key] = plot
            self._hours_axis(plot, "bottom", shown=row == len(keys) - 1)
        for plot in previous.values():
            plot.setXLink(None)
            plot.deleteLater()

    @staticmethod
    def _hours_axis(plot: pg.PlotItem, side: str, shown: bool) -> None:
        """The time axis with values and title on one side of a plot, or only a thin line there."""
        axis = plot.getAxis(side)
        axis.setStyle(showValues=shown)
        axis.setHeight(None if shown else 6)
        if shown:
            plot.setLabel(side, "Hours since admission", color=TEXT)
        axis.showLabel(shown)

    def _new_plot(self, key: str) -> pg.PlotItem:
        plot = pg.PlotItem()
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.setMouseEnabled(x=True, y=False)
        plot.setAutoVisible(y=True)
        plot.showGrid(x=True, alpha=0.18)
        for name in ("left", "bottom", "top"):
            axis = plot.getAxis(name)
            axis.setPen(AXIS)
            axis.setTextPen(TEXT)
        plot.getAxis("left").setWidth(AXIS_WIDTH)
        if key == RISK_KEY:
            plot.setLabel("left", "Risk of death", color=TEXT)
            plot.setYRange(0.0, 1.0, padding=0.02)
            plot.disableAutoRange(axis="y")
            plot.getAxis("left").setTicks([[(0.0, "0"), (0.25, ".25"), (0.5, ".5"), (0.75, ".75"), (1.0, "1")]])
            plot.showAxis("top")
            self._hours_axis(plot, "top", shown=True)
            return plot
        plot.setLabel("left", timeline_text.axis_title(key), color=TEXT)
        known = VARIABLES.get(key)
        if known is not None:
            plot.setLimits(minYRange=MIN_Y_SPAN * (known.high - known.low))
        plot.setXLink(self.plots[RISK_KEY])
        return plot

    def _draw_risk(self, forecast: PatientForecast | None) -> None:
        self.risk_curve = None
        if forecast is not None and forecast.risk:
            hours, probabilities = zip(*forecast.risk, strict=True)
            self.risk_curve = self.risk_plot.plot(
                list(hours), list(probabilities), pen=pg.mkPen(RISK, width=2), symbol="o", symbolSize=4,
                symbolBrush=RISK, symbolPen=None, fillLevel=0.0, fillBrush=RISK_FILL,
            )

    def _draw_observed(self, timeline: Timeline, variable: str) -> None:
        series = timeline.series.get(variable)
        if series is not None and len(series):
            self.observed[variable] = self.plots[variable].plot(
                series.hours, series.values, pen=pg.mkPen(OBSERVED.darker(160), width=1), symbol="o",
                symbolSize=5, symbolBrush=OBSERVED, symbolPen=None,
            )

    def _draw_forecast(self, variable: str, points: list[ForecastPoint] | None) -> None:
        if not points:
            return
        plot = self.plots[variable]
        hours = [point.hour for point in points]
        edge = pg.mkPen(BAND_EDGE, width=1)
        low = pg.PlotCurveItem(hours, [point.p10 for point in points], pen=edge)
        high = pg.PlotCurveItem(hours, [point.p90 for point in points], pen=edge)
        band = pg.FillBetweenItem(low, high, brush=BAND)
        plot.addItem(low)
        plot.addItem(high)
        plot.addItem(band, ignoreBounds=True)
        self.bands[variable] = band
        self.medians[variable] = plot.plot(hours, [point.p50 for point in points], pen=pg.mkPen(FORECAST, width=2))

    def _add_marker(self, plot: pg.PlotItem, event: Event, labelled: bool) -> None:
        marker = EventMarker(event, labelled)
        marker.sigClicked.connect(self._marker_clicked)
        plot.addItem(marker, ignoreBounds=True)
        self.markers.append(marker)

    def _marker_clicked(self, marker: EventMarker, _event) -> None:
        self.study_clicked.emit(marker.timeline_event.reference)

    @staticmethod
    def _time_span(timeline: Timeline, forecast: PatientForecast | None) -> tuple[float, float]:
        """Admission to the last forecast hour (room for the forecast is kept while it is on its way)."""
        hours = [0.0, timeline.last_hour + FORECAST_ROOM_HOURS, *(event.hour for event in timeline.events)]
        if forecast is not None:
            hours += [hour for hour, _ in forecast.risk]
            hours += [point.hour for points in forecast.forecast.values() for point in points]
        return min(hours), max(hours) + 1.0

    # hover ------------------------------------------------------------------------------------------
    def _mouse_moved(self, scene_pos: QPointF) -> None:
        for key, plot in self.plots.items():
            if plot.vb.sceneBoundingRect().contains(scene_pos):
                hour = plot.vb.mapSceneToView(scene_pos).x()
                tolerance = HOVER_TOLERANCE_PX * plot.vb.viewPixelSize()[0]
                self._show_cursor(hour)
                self.hovered.emit(self.readout(key, hour, tolerance))
                return
        self.hide_cursor()

    def readout(self, key: str, hour: float, tolerance: float) -> str:
        """The text for the cursor at ``hour`` over the plot ``key`` (a variable, or the risk plot)."""
        if key == RISK_KEY:
            return timeline_text.risk_readout(self.forecast, hour)
        return timeline_text.variable_readout(self.timeline, self.forecast, key, hour, tolerance)

    def _show_cursor(self, hour: float) -> None:
        for cursor in self.cursors:
            cursor.setPos(hour)
            cursor.setVisible(True)

    def hide_cursor(self) -> None:
        for cursor in self.cursors:
            cursor.setVisible(False)
        self.hovered.emit("")

    def leaveEvent(self, event) -> None:
        self.hide_cursor()
        super().leaveEvent(event)
