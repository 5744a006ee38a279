"""Long CSV timelines: times, anchors, units, and every kind of bad row with its line number."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest

from medstation.errors import Cancelled, UnreadableInput
from medstation.io.timelines.long_csv import read_timeline_csv
from medstation.io.timelines.physionet import parse_record
from medstation.resources import resource_path

SAMPLE = resource_path("sample", "timelines")


def _write(tmp_path, text: str, name: str = "timeline.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_hours_since_admission_give_a_timeline_without_anchor(tmp_path):
    path = _write(
        tmp_path,
        "patient_id,time,variable,value\n"
        "p1,0,Age,61\n"
        "p1,0,Weight,80\n"
        "p1,0.5,HR,88\n"
        "p1,2.25,hr,92\n"
        "p2,1,MAP,70\n",
    )
    timelines, report = read_timeline_csv(path)
    first, second = timelines
    assert (first.patient_id, second.patient_id) == ("p1", "p2")
    assert first.anchor is None
    assert first.static == {"Age": 61.0, "Weight": 80.0}
    assert first.series["HR"].hours.tolist() == [0.5, 2.25]
    assert first.series["HR"].values.tolist() == [88.0, 92.0]
    assert first.last_hour == 2.25
    assert (report.rows, report.observations, report.bad_rows) == (5, 4, [])


def test_an_admission_row_gives_the_anchor(tmp_path):
    path = _write(
        tmp_path,
        "patient_id,time,variable,value,unit\n"
        "p1,2025-12-31T17:00,Lactate,2.1,mmol/L\n"
        "p1,2025-12-31T18:00,Admission,,\n"
        "p1,2025-12-31T19:30,HR,88,bpm\n",
    )
    (timeline,), _ = read_timeline_csv(path)
    assert timeline.anchor == datetime(2025, 12, 31, 18, 0)
    assert timeline.series["Lactate"].hours.tolist() == [-1.0], "a value before admission keeps its negative hour"
    assert timeline.series["HR"].hours.tolist() == [1.5]


def test_without_an_admission_row_the_earliest_time_is_the_anchor(tmp_path):
    path = _write(
        tmp_path,
        "patient_id,time,variable,value\n"
        "p1,2025-12-31T19:30:00+01:00,HR,88\n"
        "p1,2025-12-31T17:15:00+01:00,Age,61\n"
        "p1,2025-12-31T21:00:00+01:00,HR,90\n",
    )
    (timeline,), _ = read_timeline_csv(path)
    assert timeline.anchor == datetime.fromisoformat("2025-12-31T17:15:00+01:00")
    assert timeline.series["HR"].hours.tolist() == [2.25, 3.75]
    assert timeline.static == {"Age": 61.0}


def test_units_are_converted_and_honest_aliases_accepted(tmp_path):
    path = _write(
        tmp_path,
        "patient_id,time,variable,value,unit\n"
        "p1,1,Temp,100.4,degF\n"
        "p1,2,Temp,37.5,Cel\n"
        "p1,1,Creatinine,176.84,umol/L\n"
        "p1,1,Glucose,5.5,mmol/L\n"
        "p1,1,Lactate,18.016,mg/dL\n"
        "p1,1,BUN,20,mg/dl\n"
        "p1,1,FiO2,40,%\n"
        "p1,1,HR,75,/min\n"
        "p1,1,TroponinT,0.05,ng/mL\n"
        "p1,1,Mg,0.8,mmol/L\n",
    )
    (timeline,), report = read_timeline_csv(path)
    values = {name: series.values.tolist() for name, series in timeline.series.items()}
    assert values["Temp"] == pytest.approx([38.0, 37.5])
    assert values["Creatinine"] == pytest.approx([2.0])
    assert values["Glucose"] == pytest.approx([99.088])
    assert values["Lactate"] == pytest.approx([2.0])
    assert values["BUN"] == [20.0]
    assert values["FiO2"] == pytest.approx([0.4])
    assert values["HR"] == [75.0]
    assert values["TroponinT"] == [0.05]
    assert values["Mg"] == pytest.approx([1.9444])  # 24.305 g/mol: 0.8 mmol/L is 1.94 mg/dL
    assert report.bad_rows == []


def test_missing_values_are_counted_and_implausible_ones_counted_and_left_out(tmp_path):
    path = _write(
        tmp_path,
        "patient_id,time,variable,value,unit\n"
        "p1,1,Temp,,\n"
        "p1,2,Temp,NA,°C\n"
        "p1,3,Temp,-17.8,°C\n"
        "p1,4,Temp,36.9,°C\n"
        "p1,5,HR,400,bpm\n",
    )
    (timeline,), report = read_timeline_csv(path)
    assert report.missing == 2
    assert report.out_of_range == {"Temp": 1, "HR": 1}
    assert timeline.series["Temp"].values.tolist() == [36.9]
    assert "HR" not in timeline.series


def test_every_kind_of_bad_row_is_reported_with_its_line_number(tmp_path):
    path = _write(
        tmp_path,
        "patient_id,time,variable,value,unit\n"  # 1
        "p1,2025-12-31T18:00,Admission,,\n"  # 2
        "p1,2025-12-31T18:30,HR,80,bpm\n"  # 3 good
        "p1,2025-12-31T19:00,HR,81\n"  # 4 too few fields
        "p1,yesterday,HR,82,bpm\n"  # 5 unreadable time
        "p1,2025-12-31T19:30,HR,fast,bpm\n"  # 6 unreadable value
        "p1,2025-12-31T19:30,Pulse,83,bpm\n"  # 7 unknown variable
        "p1,2025-12-31T19:30,HR,84,furlongs\n"  # 8 unknown unit
        "p1,3.5,HR,85,bpm\n"  # 9 hours in a file of date-times
        "p1,2025-12-31T20:00,Admission,,\n"  # 10 second admission
        ",2025-12-31T20:00,HR,86,bpm\n"  # 11 no patient
        "p1,2025-12-31T20:30,HR,87,bpm,extra\n",  # 12 too many fields
    )
    (timeline,), report = read_timeline_csv(path)
    assert timeline.series["HR"].values.tolist() == [80.0]
    reasons = {row.line: row.reason for row in report.bad_rows}
    assert sorted(reasons) == [4, 5, 6, 7, 8, 9, 10, 11, 12]
    assert "expected 5 fields" in reasons[4] and "got 4" in reasons[4]
    assert "yesterday" in reasons[5]
    assert "fast" in reasons[6]
    assert "unknown variable 'Pulse'" in reasons[7]
    assert "furlongs" in reasons[8] and "bpm" in reasons[8]
    assert "line 2" in reasons[9]
    assert "second Admission" in reasons[10]
    assert "no patient_id" in reasons[11]
    assert "got 6" in reasons[12]
    assert all(row.source == str(path) for row in report.bad_rows)


def test_an_admission_row_needs_a_date_time(tmp_path):
    path = _write(tmp_path, "patient_id,time,variable,value\np1,0,Admission,\np1,1,HR,80\n")
    (timeline,), report = read_timeline_csv(path)
    assert timeline.anchor is None
    assert [(row.line, "needs a date-time" in row.reason) for row in report.bad_rows] == [(2, True)]


def test_one_patient_is_read_alone_and_an_absent_one_is_named(tmp_path):
    path = _write(tmp_path, "patient_id,time,variable,value\np1,1,HR,80\np2,1,HR,90\np2,2,HR,abc\np3,1,HR,70\n")
    (timeline,), report = read_timeline_csv(path, patient="p2")
    assert timeline.series["HR"].values.tolist() == [90.0]
    assert report.rows == 2 and [row.line for row in report.bad_rows] == [4]
    with pytest.raises(UnreadableInput, match=r"timeline\.csv: no patient 'p9'.*p1, p2, p3"):
        read_timeline_csv(path, patient="p9")


def test_files_without_the_header_or_without_usable_rows_are_refused(tmp_path):
    headless = _write(tmp_path, "p1,1,HR,80\n", "headless.csv")
    with pytest.raises(UnreadableInput, match=r"headless\.csv: the first line must be the header"):
        read_timeline_csv(headless)
    unusable = _write(tmp_path, "patient_id,time,variable,value\np1,1,Pulse,80\n", "unusable.csv")
    with pytest.raises(UnreadableInput, match=r"unusable\.csv: no usable observation rows.*Pulse"):
        read_timeline_csv(unusable)
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("patient_id,time,variable,value,unit\np1,1,Temp,37,\xb0C\n".encode("latin-1"))
    with pytest.raises(UnreadableInput, match=r"latin1\.csv"):
        read_timeline_csv(latin1)
    assert latin1.read_bytes().endswith(b"\xb0C\n"), "nothing on disk is changed"


def test_the_sample_csv_holds_the_record_it_was_converted_from():
    (timeline,), report = read_timeline_csv(SAMPLE / "145466-long.csv")
    record, record_report = parse_record((SAMPLE / "145466.txt").read_text(), "145466.txt")
    assert timeline.patient_id == "MEDSTATION-SAMPLE"
    assert timeline.anchor == datetime(2025, 12, 31, 18, 0)
    assert timeline.static == record.static
    assert sorted(timeline.series) == sorted(record.series)
    for name, series in record.series.items():
        assert timeline.series[name].hours.tolist() == pytest.approx(series.hours.tolist()), name
        assert timeline.series[name].values.tolist() == series.values.tolist(), name
    assert (report.observations, report.missing, report.out_of_range) == (
        record_report.observations,
        record_report.missing,
        record_report.out_of_range,
    )


def test_reading_reports_progress_and_can_be_cancelled(tmp_path):
    path = _write(tmp_path, "patient_id,time,variable,value\n" + "".join(f"p1,{h},HR,80\n" for h in range(12000)))
    seen: list[float] = []
    read_timeline_csv(path, progress=lambda fraction, _: seen.append(fraction))
    assert len(seen) == 3 and seen == sorted(seen) and seen[-1] < 1.0
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        read_timeline_csv(path, cancel=cancel)


def test_times_out_of_clinical_range_are_bad_rows_and_huge_fields_refuse_the_file(tmp_path):
    hours = _write(tmp_path, "patient_id,time,variable,value\np1,0,HR,80\np1,1e308,HR,81\np1,-900000,HR,82\n")
    (timeline,), report = read_timeline_csv(hours)
    assert timeline.series["HR"].values.tolist() == [80.0]
    assert [row.line for row in report.bad_rows] == [3, 4]
    assert all("within a century" in row.reason for row in report.bad_rows)
    dates = _write(tmp_path, "patient_id,time,variable,value\np1,2025-01-01T10:00,HR,80\np1,9999-01-01T10:00,HR,81\n",
                   name="dates.csv")
    (timeline,), report = read_timeline_csv(dates)
    assert len(timeline.series["HR"]) == 1 and "outside the years 1900-2199" in report.bad_rows[0].reason
    huge = _write(tmp_path, "patient_id,time,variable,value\np1,0,HR," + "9" * 200_000 + "\n", name="huge.csv")
    with pytest.raises(UnreadableInput, match=r"huge\.csv: line 2: field larger than field limit"):
        read_timeline_csv(huge)
