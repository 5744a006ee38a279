"""The timeline data model: series order, cutting a timeline at an hour, the last hour, reports."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from medstation.core.timeline import VARIABLES, BadRow, Event, ImportReport, Timeline, TimeSeries


def _timeline(anchor: datetime | None = None) -> Timeline:
    return Timeline(
        "p1",
        {"Age": 70.0},
        {
            "HR": TimeSeries("HR", [2.0, 0.5, 10.0], [90.0, 80.0, 110.0]),
            "Temp": TimeSeries("Temp", [1.0, 30.5], [37.0, 38.5]),
        },
        [Event(-3.0, "study", "CT before admission", "1.2.3"), Event(12.0, "study", "CXR", "1.2.4")],
        anchor,
    )


def test_a_series_is_sorted_by_hour_with_its_values():
    series = TimeSeries("HR", [2.0, 0.5, 10.0], [90.0, 80.0, 110.0])
    assert series.hours.tolist() == [0.5, 2.0, 10.0]
    assert series.values.tolist() == [80.0, 90.0, 110.0]
    assert len(series) == 3


def test_a_series_refuses_hours_and_values_of_different_lengths():
    with pytest.raises(ValueError, match="HR"):
        TimeSeries("HR", [1.0, 2.0], [80.0])


def test_last_hour_is_the_latest_observation_of_any_variable():
    assert _timeline().last_hour == 30.5
    assert Timeline("empty").last_hour == 0.0


def test_until_keeps_what_was_known_at_that_hour():
    known = _timeline().until(2.0)
    assert known.series["HR"].hours.tolist() == [0.5, 2.0]
    assert known.series["Temp"].values.tolist() == [37.0]
    assert [event.label for event in known.events] == ["CT before admission"]
    assert known.static == {"Age": 70.0}
    assert known.last_hour == 2.0
    assert _timeline().series["HR"].hours.tolist() == [0.5, 2.0, 10.0], "the original is unchanged"


def test_hour_of_needs_an_absolute_anchor():
    anchored = _timeline(datetime(2025, 12, 31, 18, 0))
    assert anchored.hour_of(datetime(2026, 1, 1, 0, 30)) == pytest.approx(6.5)
    with pytest.raises(ValueError, match="p1"):
        _timeline().hour_of(datetime(2026, 1, 1))


def test_plausible_ranges_include_their_ends():
    temp = VARIABLES["Temp"]
    assert temp.plausible(25.0) and temp.plausible(45.0)
    assert not temp.plausible(-17.8) and not np.isnan(temp.low)


def test_reports_merge_and_summarise():
    first = ImportReport(rows=10, observations=8, missing=1, out_of_range={"Temp": 1})
    first.bad_rows.append(BadRow("a.txt", 4, "unknown variable 'Foo'"))
    second = ImportReport(rows=5, observations=5)
    second.count_out_of_range("Temp")
    second.count_out_of_range("HR")
    first.merge(second)
    assert (first.rows, first.observations, first.missing) == (15, 13, 1)
    assert first.out_of_range == {"Temp": 2, "HR": 1}
    assert "HR 1, Temp 2" in first.summary()
    assert "a.txt:4: unknown variable 'Foo'" in first.summary()
