"""PhysioNet Challenge 2012 records: parsing, missing and implausible values, bad rows, archives, outcomes."""

from __future__ import annotations

import tarfile

import pytest

from medstation.errors import UnreadableInput
from medstation.io.timelines.physionet import parse_record, read_outcomes, read_records
from medstation.resources import resource_path

SAMPLE = resource_path("sample", "timelines")
RECORDS = ("145466", "147135", "150848", "152591")

RECORD = """Time,Parameter,Value
00:00,RecordID,132539
00:00,Age,54
00:00,Gender,0
00:00,Height,-1
00:00,ICUType,4
00:00,Weight,-1
00:07,GCS,15
00:37,HR,73
00:37,Temp,-17.8
01:37,HR,77
01:37,Temp,35.1
02:10,Foo,3
02:xx,HR,80
02:15,HR
03:00,HR,fast
"""


def test_a_record_gives_static_values_series_and_the_record_id():
    timeline, _ = parse_record(RECORD, "132539.txt")
    assert timeline.patient_id == "132539"
    assert timeline.static == {"Age": 54.0, "Gender": 0.0, "ICUType": 4.0}
    assert timeline.series["HR"].hours.tolist() == pytest.approx([37 / 60, 1 + 37 / 60])
    assert timeline.series["HR"].values.tolist() == [73.0, 77.0]
    assert timeline.series["GCS"].values.tolist() == [15.0]
    assert timeline.anchor is None


def test_minus_one_is_counted_as_missing_and_implausible_values_are_counted_and_left_out():
    timeline, report = parse_record(RECORD, "132539.txt")
    assert report.missing == 2, "Height and Weight are -1"
    assert report.out_of_range == {"Temp": 1}
    assert timeline.series["Temp"].values.tolist() == [35.1], "-17.8 °C is left out"
    assert report.observations == 4


def test_bad_rows_are_reported_with_their_line_numbers():
    _, report = parse_record(RECORD, "132539.txt")
    by_line = {row.line: row.reason for row in report.bad_rows}
    assert sorted(by_line) == [13, 14, 15, 16]
    assert "Foo" in by_line[13]
    assert "02:xx" in by_line[14]
    assert "3 fields" in by_line[15]
    assert "fast" in by_line[16]
    assert all(row.source == "132539.txt" for row in report.bad_rows)


def test_a_file_that_is_not_a_record_is_refused_naming_it():
    with pytest.raises(UnreadableInput, match=r"notes\.txt"):
        parse_record("hello\n", "notes.txt")


def test_the_sample_records_are_byte_identical_to_set_b(shared_path):
    with tarfile.open(shared_path("physionet2012", "set-b.tar.gz")) as archive:
        for record in RECORDS:
            original = archive.extractfile(f"set-b/{record}.txt").read()
            assert (SAMPLE / f"{record}.txt").read_bytes() == original


def test_a_folder_of_records_passes_over_its_outcomes_file():
    timelines, report = read_records(SAMPLE)
    assert [t.patient_id for t in timelines] == list(RECORDS)
    assert report.bad_rows == []
    singles = [parse_record((SAMPLE / f"{record}.txt").read_text(), record)[1] for record in RECORDS]
    assert report.observations == sum(one.observations for one in singles)
    assert report.rows == sum(one.rows for one in singles)


def test_a_tar_gz_is_read_in_place(tmp_path):
    archive_path = tmp_path / "records.tar.gz"
    with tarfile.open(archive_path, "w:gz") as archive:
        for record in RECORDS:
            archive.add(SAMPLE / f"{record}.txt", arcname=f"set-x/{record}.txt")
    timelines, _ = read_records(archive_path)
    assert [t.patient_id for t in timelines] == list(RECORDS)
    assert timelines[0].source == f"{archive_path}/set-x/145466.txt"
    folder_timelines, _ = read_records(SAMPLE)
    assert timelines[2].series["Lactate"].values.tolist() == folder_timelines[2].series["Lactate"].values.tolist()


def test_one_patient_is_kept_and_counted_alone():
    (timeline,), report = read_records(SAMPLE, patient="150848")
    assert timeline.patient_id == "150848"
    _, alone = parse_record((SAMPLE / "150848.txt").read_text(), "150848.txt")
    assert (report.rows, report.observations) == (alone.rows, alone.observations)
    with pytest.raises(UnreadableInput, match=r"no patient '999'.*145466, 147135, 150848, 152591"):
        read_records(SAMPLE, patient="999")


def test_a_damaged_archive_is_refused_naming_it(tmp_path):
    damaged = tmp_path / "set-z.tar.gz"
    damaged.write_bytes(b"\x1f\x8b\x08\x00not really gzip")
    with pytest.raises(UnreadableInput, match=r"set-z\.tar\.gz"):
        read_records(damaged)


def test_outcomes_read_only_in_hospital_death():
    assert read_outcomes(SAMPLE / "outcomes.txt") == {"145466": 0, "147135": 1, "150848": 1, "152591": 0}


def test_outcomes_columns_are_found_by_name_and_bad_labels_refused(tmp_path):
    reordered = tmp_path / "outcomes.txt"
    reordered.write_text("In-hospital_death,Survival,RecordID\n1,-1,140001\n0,300,140002\n")
    assert read_outcomes(reordered) == {"140001": 1, "140002": 0}
    bad = tmp_path / "bad.txt"
    bad.write_text("RecordID,In-hospital_death\n140001,2\n")
    with pytest.raises(UnreadableInput, match=r"bad\.txt:2: In-hospital_death must be 0 or 1"):
        read_outcomes(bad)
    no_label = tmp_path / "no_label.txt"
    no_label.write_text("RecordID,SAPS-I\n140001,12\n")
    with pytest.raises(UnreadableInput, match=r"no_label\.txt"):
        read_outcomes(no_label)


@pytest.mark.slow
def test_the_whole_set_a_archive(shared_path):
    """4000 patients; PhysioNet has Temp below 0 °C in 24 rows (and 106 more below 25 °C): all left out, counted."""
    archive_path = shared_path("physionet2012", "set-a.tar.gz")
    timelines, report = read_records(archive_path)
    assert len(timelines) == 4000
    assert len({t.patient_id for t in timelines}) == 4000
    assert report.out_of_range["Temp"] == 130
    assert min(float(t.series["Temp"].values.min()) for t in timelines if "Temp" in t.series) >= 25.0
    assert _temperatures_below_zero(archive_path) == 24


def _temperatures_below_zero(archive_path) -> int:
    """Rows of Temp below 0 °C (-1 is PhysioNet's missing mark), counted straight from the archive."""
    count = 0
    with tarfile.open(archive_path) as archive:
        for member in archive:
            if member.isfile():
                for row in archive.extractfile(member).read().decode().splitlines():
                    _, name, value = row.split(",")
                    count += name == "Temp" and float(value) < 0 and float(value) != -1
    return count


def test_unreadable_record_ids_values_and_times_are_bad_rows():
    text = (
        "Time,Parameter,Value\n00:00,RecordID,1.5\n00:00,RecordID,132540\n00:00,RecordID,132541\n"
        "00:30,HR,inf\n01:00,HR,nan\n01:30,HR,80\n999999999:00,HR,81\n"
    )
    timeline, report = parse_record(text, "r.txt")
    assert timeline.patient_id == "132540"
    assert timeline.series["HR"].values.tolist() == [80.0]
    reasons = {row.line: row.reason for row in report.bad_rows}
    assert set(reasons) == {2, 4, 5, 6, 8}
    assert "not a whole number" in reasons[2] and "second RecordID (the first is line 3)" in reasons[4]
    assert "not a finite number" in reasons[5] and "within a century" in reasons[8]


def test_a_folder_reads_only_regular_record_files(tmp_path):
    (tmp_path / "132539.txt").write_text(RECORD)
    (tmp_path / "zero.txt").symlink_to("/dev/zero")
    timelines, _ = read_records(tmp_path)
    assert [t.patient_id for t in timelines] == ["132539"]
    latin = tmp_path / "latin"
    latin.mkdir()
    (latin / "1.txt").write_bytes(b"Time,Parameter,Value\n00:00,RecordID,1\n00:10,Temp,36\xb0\n")
    with pytest.raises(UnreadableInput, match=r"latin: no PhysioNet 2012 record files found \(first problem: .*1\.txt"):
        read_records(latin)


def test_an_archive_with_a_broken_checksum_is_refused(tmp_path):
    archive = tmp_path / "set-z.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(SAMPLE / "145466.txt", arcname="set-z/145466.txt")
    data = bytearray(archive.read_bytes())
    data[-8] ^= 0xFF  # the gzip trailer's CRC-32
    archive.write_bytes(bytes(data))
    with pytest.raises(UnreadableInput, match=r"set-z\.tar\.gz: damaged or unreadable archive \(CRC check failed"):
        read_records(archive)


def test_outcomes_listing_a_record_twice_are_refused(tmp_path):
    twice = tmp_path / "twice.txt"
    twice.write_text("RecordID,In-hospital_death\n140001,0\n140002,0\n140001,1\n")
    with pytest.raises(UnreadableInput, match=r"twice\.txt:4: RecordID 140001 is listed a second time"):
        read_outcomes(twice)
