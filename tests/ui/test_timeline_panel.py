"""The timeline panel plots a real patient, draws a forecast with its interval, reads out values with units,
opens studies from their markers and runs the forecaster in a job."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QApplication, QDialog, QTextBrowser

from medstation.core.forecast import Contributor, ForecastPoint, PatientForecast
from medstation.core.timeline import Event, Timeline, TimeSeries
from medstation.resources import resource_path
from medstation.ui.panels.timeline_plots import RISK_KEY, TimelinePlots

SAMPLE_IMAGE = resource_path("sample", "images", "sample-01.dcm")
SAMPLE_TIMELINES = resource_path("sample", "timelines")


def _records(shared_path, folder: Path, count: int) -> list[Path]:
    """The first ``count`` PhysioNet 2012 record files of set B, copied out of the archive."""
    files = []
    with tarfile.open(shared_path("physionet2012", "set-b.tar.gz")) as archive:
        for member in archive:
            if member.isfile() and member.name.endswith(".txt"):
                target = folder / Path(member.name).name
                target.write_bytes(archive.extractfile(member).read())
                files.append(target)
                if len(files) == count:
                    return files
    return files


def _open(window, qtbot, path: Path):
    job = window.timeline_opener.open_path(path)
    qtbot.waitUntil(lambda: job.state.finished, timeout=60_000)
    assert job.state.value == "done", job.error
    return window.timeline_panel


def _patient() -> Timeline:
    return Timeline(
        "P1",
        {"Age": 64, "Gender": 1},
        {
            "HR": TimeSeries("HR", [0.5, 3.0, 10.0, 20.0], [88, 95, 110, 104]),
            "Temp": TimeSeries("Temp", [1.0, 12.0], [37.2, 38.4]),
        },
        [Event(6.0, "study", "CR chest", str(SAMPLE_IMAGE))],
    )


def _forecast() -> PatientForecast:
    return PatientForecast(
        "P1",
        20.0,
        risk=[(4.0, 0.08), (12.0, 0.15), (20.0, 0.31)],
        forecast={
            "HR": [ForecastPoint(22.0, 90.0, 101.0, 115.0), ForecastPoint(24.0, 86.0, 99.0, 118.0)],
            "Temp": [ForecastPoint(22.0, 37.1, 37.9, 38.8), ForecastPoint(24.0, 36.9, 37.8, 38.9)],
        },
        contributors=[Contributor("Temp", -0.05, (12,)), Contributor("HR", 0.42, (10, 11, 12, 20))],
    )


def _data(item) -> tuple[list[float], list[float]]:
    x, y = item.getData()
    return list(x), list(y)


def _hover(plots: TimelinePlots, key: str, hour: float, value: float) -> None:
    plots.scene().sigMouseMoved.emit(plots.plots[key].vb.mapViewToScene(QPointF(hour, value)))


def test_a_real_record_is_plotted_point_for_point(make_window, qtbot, shared_path, tmp_path):
    (record,) = _records(shared_path, tmp_path, 1)
    panel = _open(make_window(), qtbot, record)
    timeline = panel.timeline
    assert timeline.patient_id == record.stem
    shown = panel.selected_variables()
    assert shown and set(shown) <= {"HR", "MAP", "NIMAP", "RespRate", "Temp", "Lactate", "GCS"}
    assert list(panel.plots.plots) == [RISK_KEY, *shown]
    for name in shown:
        hours, values = _data(panel.plots.observed[name])
        assert hours == list(timeline.series[name].hours) and values == list(timeline.series[name].values)
        assert panel.plots.plots[name].getAxis("left").labelText.startswith(name)
    assert not panel.patients.isVisible(), "one patient needs no selector"


def test_the_picker_adds_and_removes_plots(make_window, qtbot, shared_path, tmp_path):
    (record,) = _records(shared_path, tmp_path, 1)
    panel = _open(make_window(), qtbot, record)
    extra = next(name for name in panel.timeline.series if name not in panel.selected_variables())
    panel.set_variable_shown(extra, True)
    assert extra in panel.plots.plots
    hours, values = _data(panel.plots.observed[extra])
    assert values == list(panel.timeline.series[extra].values) and hours == list(panel.timeline.series[extra].hours)
    plot_x = [plot.vb for plot in panel.plots.plots.values()]
    assert all(vb.linkedView(vb.XAxis) is plot_x[0] for vb in plot_x[1:]), "one shared, linked time axis"
    panel.set_variable_shown(extra, False)
    assert extra not in panel.plots.plots
    first = panel.selected_variables()[0]
    panel.set_variable_shown(first, False)
    assert first not in panel.plots.plots and first not in panel.selected_variables()


def test_a_forecast_is_drawn_as_median_line_and_interval_band(qtbot):
    plots = TimelinePlots()
    qtbot.addWidget(plots)
    forecast = _forecast()
    plots.draw(_patient(), ["HR", "Temp"], forecast)
    for name in ("HR", "Temp"):
        points = forecast.forecast[name]
        assert _data(plots.medians[name]) == ([p.hour for p in points], [p.p50 for p in points])
        low, high = plots.bands[name].curves
        assert _data(low) == ([p.hour for p in points], [p.p10 for p in points])
        assert _data(high) == ([p.hour for p in points], [p.p90 for p in points])
        shaded = plots.bands[name].path().boundingRect()
        assert shaded.top() == pytest.approx(min(p.p10 for p in points))
        assert shaded.bottom() == pytest.approx(max(p.p90 for p in points))
    assert _data(plots.risk_curve) == ([4.0, 12.0, 20.0], [0.08, 0.15, 0.31])
    assert tuple(plots.risk_plot.vb.viewRange()[1]) == pytest.approx((-0.02, 1.02))
    low_x, high_x = plots.risk_plot.vb.viewRange()[0]
    assert low_x <= 0.0 and high_x >= 24.0, "the time axis spans admission to the last forecast hour"


def test_hover_readouts_give_values_with_units(make_window, qtbot):
    window = make_window()
    window.resize(1400, 900)
    window.show()
    panel = window.timeline_panel
    panel.set_timelines([_patient()])
    window.show_timelines("1 patient")
    panel.forecast = _forecast()
    panel.redraw()
    qtbot.waitExposed(window)
    QApplication.processEvents()
    _hover(panel.plots, "HR", 10.0, 110.0)
    assert panel.readout.text() == "HR at 10.0 h: 110 bpm"
    _hover(panel.plots, "Temp", 12.0, 38.4)
    assert panel.readout.text() == "Temp at 12.0 h: 38.4 °C"
    _hover(panel.plots, "HR", 24.0, 99.0)
    assert panel.readout.text() == "HR forecast at 24.0 h: median 99 bpm, 80% interval 86 to 118 bpm"
    _hover(panel.plots, RISK_KEY, 12.0, 0.2)
    assert panel.readout.text() == "Risk of in-hospital death at 12.0 h: 0.15 (15%)"
    assert all(cursor.isVisible() for cursor in panel.plots.cursors)


def test_contributors_are_listed_strongest_first(make_window):
    panel = make_window().timeline_panel
    panel.set_timelines([_patient()])
    panel.forecast = _forecast()
    panel._show_forecast_details()
    items = [panel.contributors.topLevelItem(i) for i in range(panel.contributors.topLevelItemCount())]
    rows = [[item.text(column) for column in range(3)] for item in items]
    assert rows == [["HR", "▲ raises +0.42", "10-12, 20 h"], ["Temp", "▼ lowers -0.05", "12 h"]]
    assert "31%" in panel.risk.text()


def test_clicking_a_study_marker_opens_the_study_in_the_viewer(make_window, qtbot):
    window = make_window()
    window.resize(1400, 900)
    window.show()
    panel = window.timeline_panel
    panel.set_timelines([_patient()])
    qtbot.waitExposed(window)
    QApplication.processEvents()
    requested = []
    panel.study_requested.connect(requested.append)
    plots = panel.plots
    scene_point = plots.risk_plot.vb.mapViewToScene(QPointF(6.0, 0.5))
    qtbot.mouseClick(plots.viewport(), Qt.MouseButton.LeftButton, pos=plots.mapFromScene(scene_point))
    assert requested == [str(SAMPLE_IMAGE)]
    qtbot.waitUntil(lambda: window.viewer.state is not None, timeout=30_000)
    assert window.viewer.state.volume.info.modality == "DX"


def test_a_timeline_with_an_admission_time_shows_the_patients_study_and_opens_it(make_window, qtbot):
    window = make_window()
    window.database.import_folder(SAMPLE_IMAGE.parent)
    (study,) = window.database.studies("MEDSTATION-SAMPLE")  # the thumbnails' patient; the radiographs are another
    panel = _open(window, qtbot, SAMPLE_TIMELINES / "145466-long.csv")
    assert panel.timeline.patient_id == "MEDSTATION-SAMPLE"
    (marker,) = [marker for marker in panel.plots.markers if marker.clickable and marker.marker_label is not None]
    assert marker.timeline_event.reference == study.study_uid
    assert marker.value() == pytest.approx(6.0), "the study is six hours into the stay (see the sample README)"
    marker.sigClicked.emit(marker, None)
    qtbot.waitUntil(lambda: window.viewer.state is not None, timeout=30_000)
    assert window.viewer.state.volume.info.study_uid == study.study_uid


def test_the_sample_timelines_open_with_a_patient_selector(make_window, qtbot):
    window = make_window()
    job = window.timeline_opener.open_sample()
    qtbot.waitUntil(lambda: job.state.finished, timeout=60_000)
    assert job.state.value == "done", job.error
    panel = window.timeline_panel
    patients = [panel.patients.itemText(i) for i in range(panel.patients.count())]
    assert patients == ["145466", "147135", "150848", "152591"]
    assert not panel.patients.isHidden()
    assert "4 patients" in window.statusBar().currentMessage()


def test_an_unknown_study_reference_fails_with_what_to_do(make_window, qtbot):
    window = make_window()
    job = window.opener.open_reference("1.2.3.4.5")
    qtbot.waitUntil(lambda: job.state.finished, timeout=10_000)
    assert job.state.value == "failed"
    assert "1.2.3.4.5" in str(job.error) and "File > Open folder" in str(job.error)
    for box in list(window.error_dialogs):
        box.accept()


def test_several_patients_get_a_selector(make_window, qtbot, shared_path, tmp_path):
    records = _records(shared_path, tmp_path, 3)
    panel = _open(make_window(), qtbot, tmp_path)
    assert panel.patients.count() == 3 and not panel.patients.isHidden()
    assert {panel.patients.itemText(i) for i in range(3)} == {record.stem for record in records}
    panel.patients.setCurrentIndex(2)
    assert panel.timeline.patient_id == panel.patients.itemText(2)
    assert panel.summary.text().startswith(f"Patient {panel.patients.itemText(2)}")
    assert panel.job.title == f"Forecast patient {panel.patients.itemText(2)}"
    for name in panel.selected_variables():
        assert _data(panel.plots.observed[name])[1] == list(panel.timeline.series[name].values)
        assert panel.plots.plots[name].listDataItems() == [panel.plots.observed[name]], "nothing left from before"


def test_readouts_name_missing_and_earlier_values():
    from medstation.ui.panels import timeline_text

    timeline = _patient()
    assert timeline_text.observed_readout(timeline, "HR", 15.0, 0.5) == "HR at 15.0 h: last measured 110 bpm at 10.0 h"
    assert timeline_text.observed_readout(timeline, "Temp", 0.2, 0.5) == "Temp at 0.2 h: not yet measured"
    assert timeline_text.observed_readout(timeline, "GCS", 3.0, 0.5) == "GCS at 3.0 h: not measured for this patient"
    values = (88.0, 36.83, 7.384, 0.453, 1234.4)
    assert [timeline_text.number(v) for v in values] == ["88", "36.8", "7.38", "0.45", "1234"]
    assert timeline_text.axis_title("pH") == "pH" and timeline_text.axis_title("MAP") == "MAP (mmHg)"


def test_the_shipped_forecaster_runs_as_a_job_and_is_drawn(make_window, qtbot, shared_path, tmp_path):
    (record,) = _records(shared_path, tmp_path, 1)
    window = make_window()
    panel = _open(window, qtbot, record)
    assert panel.forecaster == "icu-trend-lstm"
    job = panel.start_forecast()
    assert panel.status.text() == "Forecasting…" and not panel.forecast_button.isEnabled()
    assert job in window.runner.jobs and job.title == f"Forecast patient {record.stem}"
    qtbot.waitUntil(lambda: job.state.finished, timeout=120_000)
    assert job.state.value == "done", job.error
    forecast = panel.forecast
    assert isinstance(forecast, PatientForecast) and forecast.patient_id == record.stem
    assert forecast.last_hour == pytest.approx(panel.timeline.last_hour, abs=1.0)
    drawn = [name for name in panel.selected_variables() if forecast.forecast.get(name)]
    assert drawn, "the forecaster forecasts some of the plotted variables"
    for name in drawn:
        points = forecast.forecast[name]
        assert _data(panel.plots.medians[name]) == ([p.hour for p in points], [p.p50 for p in points])
        assert all(p.p10 <= p.p50 <= p.p90 and p.hour > forecast.last_hour for p in points)
    assert _data(panel.plots.risk_curve)[1] == [p for _, p in forecast.risk]
    assert f"{forecast.risk[-1][1]:.0%}" in panel.risk.text()
    assert panel.contributors.topLevelItemCount() == min(5, len(forecast.contributors)) > 0
    assert panel.status.text().startswith("Forecast from") and panel.forecast_button.isEnabled()


def test_a_failing_forecast_reaches_the_error_dialog(make_window, qtbot):
    window = make_window()
    panel = window.timeline_panel
    panel.forecaster = "no-such-forecaster"
    panel.set_timelines([_patient()])
    job = panel.job
    qtbot.waitUntil(lambda: job.state.finished, timeout=60_000)
    assert job.state.value == "failed"
    assert panel.status.text() == "Forecast failed (see the message)" and panel.forecast is None
    (box,) = window.error_dialogs
    assert "no-such-forecaster" in box.text()
    box.accept()


def test_the_forecasters_model_card_opens_from_the_panel(make_window, qtbot):
    window = make_window()
    job = window.timeline_panel.show_card()
    qtbot.waitUntil(lambda: job.state.finished, timeout=30_000)
    assert job.state.value == "done", job.error
    (dialog,) = [d for d in window.timeline_panel.findChildren(QDialog) if d.isVisible()]
    assert dialog.windowTitle() == "Model card: icu-trend-lstm"
    assert "Not a medical device" in dialog.findChild(QTextBrowser).toPlainText()
    dialog.close()


def test_timeline_files_are_told_from_studies_by_their_suffix(tmp_path):
    from medstation.ui.timeline_opening import is_timeline_file

    for name in ("145466.txt", "145466-long.csv", "145466-fhir.json"):
        assert is_timeline_file(SAMPLE_TIMELINES / name)
    assert not is_timeline_file(SAMPLE_IMAGE) and not is_timeline_file(SAMPLE_TIMELINES)
    assert not is_timeline_file(tmp_path / "absent.csv")
