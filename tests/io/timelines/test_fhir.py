"""FHIR R4 timelines: LOINC mapping, UCUM units, anchors, patients, and malformed entries reported by index."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from medstation.errors import UnreadableInput
from medstation.io.timelines.fhir import read_fhir_timelines
from medstation.io.timelines.physionet import parse_record
from medstation.resources import resource_path

SAMPLE = resource_path("sample", "timelines")


def _observation(code: str, value: float | None, unit: str, when: str = "2025-06-01T10:00:00Z", patient="p1", **extra):
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": when,
    }
    if value is not None:
        observation["valueQuantity"] = {"value": value, "system": "http://unitsofmeasure.org", "code": unit}
    observation.update(extra)
    return observation


def _bundle(tmp_path, *resources, name: str = "bundle.json"):
    path = tmp_path / name
    entries = [resource if "resource" in resource or "resourceType" not in resource else {"resource": resource}
               for resource in resources]
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}), encoding="utf-8")
    return path


def test_observations_map_by_loinc_with_their_units_and_the_earliest_as_anchor(tmp_path):
    path = _bundle(
        tmp_path,
        _observation("8867-4", 88, "/min", "2025-06-01T10:30:00Z"),
        _observation("8310-5", 100.4, "[degF]", "2025-06-01T11:00:00Z"),
        _observation("2339-0", 5.5, "mmol/L", "2025-06-01T12:00:00Z"),
        _observation("14682-9", 88.42, "umol/L", "2025-06-01T12:00:00Z"),
        _observation("59408-5", 97, "%", "2025-06-01T10:00:00Z"),
        _observation("3150-0", 50, "%", "2025-06-01T10:00:00Z"),
        _observation("19123-9", 2.1, "mg/dL", "2025-06-01T12:00:00Z"),
        _observation("2601-3", 1.0, "mmol/L", "2025-06-01T13:00:00Z"),
    )
    (timeline,), report = read_fhir_timelines(path)
    assert timeline.patient_id == "p1"
    assert timeline.anchor == datetime(2025, 6, 1, 10, 0, tzinfo=timezone.utc)
    assert timeline.series["HR"].hours.tolist() == [0.5]
    assert timeline.series["Temp"].values.tolist() == pytest.approx([38.0])
    assert timeline.series["Glucose"].values.tolist() == pytest.approx([99.088])
    assert timeline.series["Creatinine"].values.tolist() == pytest.approx([1.0])
    assert timeline.series["SaO2"].values.tolist() == [97.0]
    assert timeline.series["FiO2"].values.tolist() == pytest.approx([0.5])
    assert timeline.series["Mg"].values.tolist() == pytest.approx([2.1, 2.4305])
    assert (report.rows, report.observations, report.bad_rows) == (8, 8, [])


def test_an_encounter_start_is_the_anchor_and_a_patient_gives_sex_and_age(tmp_path):
    path = _bundle(
        tmp_path,
        {"fullUrl": "urn:uuid:5d2e", "resource": {"resourceType": "Patient", "id": "p7", "gender": "female",
                                                  "birthDate": "1950-06-02"}},
        {"resourceType": "Encounter", "status": "finished", "class": {"code": "IMP"},
         "subject": {"reference": "urn:uuid:5d2e"}, "period": {"start": "2025-06-01T08:00:00+02:00"}},
        _observation("8478-0", 75, "mm[Hg]", "2025-06-01T07:00:00Z", patient="p7"),
    )
    (timeline,), _ = read_fhir_timelines(path)
    assert timeline.patient_id == "p7"
    assert timeline.anchor == datetime(2025, 6, 1, 6, 0, tzinfo=timezone.utc)
    assert timeline.series["MAP"].hours.tolist() == [1.0]
    assert timeline.static == {"Gender": 0.0, "Age": 74.0}, "74 on 2025-06-01, 75 the next day"


def test_a_blood_pressure_panel_gives_its_components(tmp_path):
    panel = _observation("85354-9", None, "")
    panel["component"] = [
        {"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
         "valueQuantity": {"value": 120, "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}},
        {"code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]},
         "valueQuantity": {"value": 70, "unit": "mmHg"}},
    ]
    (timeline,), report = read_fhir_timelines(_bundle(tmp_path, panel))
    assert timeline.series["SysABP"].values.tolist() == [120.0]
    assert timeline.series["DiasABP"].values.tolist() == [70.0]
    assert report.observations == 2


def test_malformed_and_unmappable_entries_are_reported_by_entry_index(tmp_path):
    no_status = _observation("8867-4", 80, "/min")
    del no_status["status"]
    path = _bundle(
        tmp_path,
        _observation("8867-4", 80, "/min"),  # 0 good
        no_status,  # 1 invalid FHIR
        _observation("8867-4", 81, "/min", when="yesterday"),  # 2 invalid date-time
        _observation("8867-4", 82, "/min", when="2025-06-01"),  # 3 a date without time
        _observation("8302-2", 180, "[ft_i]"),  # 4 a unit MedStation does not convert
        _observation("1234-5", 1, "1"),  # 5 unmapped code
        _observation("8867-4", 83, "/min", status="entered-in-error"),  # 6 withdrawn
        _observation("8867-4", None, "", valueString="fast"),  # 7 not a quantity
        {"resourceType": "Practitioner", "id": "dr"},  # 8 not read
        {"fullUrl": "urn:uuid:1"},  # 9 no resource
        {**_observation("8867-4", 84, "/min"), "subject": None},  # 10 no subject
        _observation("8867-4", None, "", dataAbsentReason={"text": "not measured"}),  # 11 missing
        {"resourceType": "Patient", "gender": "male"},  # 12 a patient without id
    )
    (timeline,), report = read_fhir_timelines(path)
    assert timeline.series["HR"].values.tolist() == [80.0]
    reasons = {row.line: row.reason for row in report.bad_rows}
    assert sorted(reasons) == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12]
    assert "status" in reasons[1] and "not valid FHIR R4" in reasons[1]
    assert "effectiveDateTime" in reasons[2]
    assert "no time of day" in reasons[3]
    assert "[ft_i]" in reasons[4] and "cm" in reasons[4]
    assert "1234-5" in reasons[5]
    assert "entered-in-error" in reasons[6]
    assert "not a Quantity" in reasons[7]
    assert "Practitioner" in reasons[8]
    assert "no resource" in reasons[9]
    assert "no subject" in reasons[10]
    assert "Patient has no id" in reasons[12]
    assert timeline.static == {}
    assert report.missing == 1


def test_a_single_observation_is_read(tmp_path):
    path = tmp_path / "one.json"
    path.write_text(json.dumps(_observation("2524-7", 18.016, "mg/dL")), encoding="utf-8")
    (timeline,), _ = read_fhir_timelines(path)
    assert timeline.series["Lactate"].values.tolist() == pytest.approx([2.0])


def test_one_patient_is_read_alone_and_an_absent_one_is_named(tmp_path):
    path = _bundle(tmp_path, _observation("8867-4", 80, "/min", patient="a"),
                   _observation("8867-4", 90, "/min", patient="b"), _observation("8867-4", -5, "/min", patient="b"))
    (timeline,), report = read_fhir_timelines(path, patient="b")
    assert timeline.series["HR"].values.tolist() == [90.0]
    assert (report.rows, report.out_of_range) == (2, {"HR": 1})
    with pytest.raises(UnreadableInput, match=r"bundle\.json: no patient 'c'.*a, b"):
        read_fhir_timelines(path, patient="c")


def test_files_that_are_not_fhir_bundles_are_refused_naming_them(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"resourceType": "Bundle", "entry": [', encoding="utf-8")
    with pytest.raises(UnreadableInput, match=r"broken\.json: not valid JSON \(line 1"):
        read_fhir_timelines(broken)
    patient_only = tmp_path / "patient.json"
    patient_only.write_text('{"resourceType": "Patient", "id": "x"}', encoding="utf-8")
    with pytest.raises(UnreadableInput, match=r"patient\.json: a FHIR Patient"):
        read_fhir_timelines(patient_only)
    useless = _bundle(tmp_path, _observation("1234-5", 1, "1"), name="useless.json")
    with pytest.raises(UnreadableInput, match=r"useless\.json: no usable observations.*1234-5"):
        read_fhir_timelines(useless)


def test_the_sample_bundle_holds_the_record_it_was_converted_from():
    (timeline,), report = read_fhir_timelines(SAMPLE / "145466-fhir.json")
    record, _ = parse_record((SAMPLE / "145466.txt").read_text(), "145466.txt")
    assert timeline.patient_id == "MEDSTATION-SAMPLE"
    assert timeline.anchor == datetime(2025, 12, 31, 18, 0, tzinfo=timezone.utc)
    assert timeline.static == {name: record.static[name] for name in ("Age", "Gender", "Height", "Weight")}
    left_out = {"MechVent", "Mg"}
    assert sorted(timeline.series) == sorted(set(record.series) - left_out)
    for name, series in timeline.series.items():
        assert series.hours.tolist() == pytest.approx(record.series[name].hours.tolist()), name
        assert series.values.tolist() == pytest.approx(record.series[name].values.tolist()), name
    assert report.bad_rows == []


def test_json_too_deep_or_with_huge_numbers_is_refused_naming_the_file(tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with pytest.raises(UnreadableInput, match=r"deep\.json: JSON that cannot be read safely"):
        read_fhir_timelines(deep)
    digits = tmp_path / "digits.json"
    digits.write_text('{"resourceType": "Bundle", "total": ' + "7" * 5000 + "}", encoding="utf-8")
    with pytest.raises(UnreadableInput, match=r"digits\.json: JSON that cannot be read safely"):
        read_fhir_timelines(digits)


def test_observations_outside_clinical_years_are_reported(tmp_path):
    late = _observation("8867-4", 90, "/min", when="9999-01-01T00:00:00Z")
    path = _bundle(tmp_path, _observation("8867-4", 80, "/min"), late)
    (timeline,), report = read_fhir_timelines(path)
    assert timeline.series["HR"].values.tolist() == [80.0]
    assert [row.line for row in report.bad_rows] == [1] and "1900-2199" in report.bad_rows[0].reason
