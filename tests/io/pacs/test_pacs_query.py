"""What a PACS query asks: filters into matching keys, date ranges, and what each level allows."""

from __future__ import annotations

import pytest
from pydicom import Dataset

from medstation.io.pacs.errors import PacsError
from medstation.io.pacs.query import QueryFilters, match_from_dataset, normalise_date_range


def test_filters_become_matching_keys_with_wildcards_only_for_text():
    filters = QueryFilters("study", patient_name="smith", patient_id="ID7", date_range="2020-01-01-2020-12-31",
                           modality="ct", accession_number="A1", study_description="head")
    assert filters.study_keys() == {
        "PatientName": "*smith*", "PatientID": "ID7", "StudyDate": "20200101-20201231", "AccessionNumber": "A1",
        "StudyDescription": "*head*", "ModalitiesInStudy": "CT"}
    assert QueryFilters(patient_name="SM?TH").study_keys() == {"PatientName": "SM?TH"}
    series = QueryFilters("series", modality="mr", study_uid="1.2.3")
    assert series.series_keys() == {"Modality": "MR"} and "ModalitiesInStudy" not in series.study_keys()


@pytest.mark.parametrize(
    ("text", "expected"),
    [("20200101", "20200101"), ("20200101-", "20200101-"), ("-20200101", "-20200101"),
     ("2020-01-01", "20200101"), ("2019-02-03-2020-01-01", "20190203-20200101"), ("", "")],
)
def test_date_ranges_in_dicom_or_iso_form(text, expected):
    assert normalise_date_range(text) == expected


@pytest.mark.parametrize("text", ["2020", "20200101-20190101", "yesterday", "-", "20200101-20200102-20200103"])
def test_a_date_range_that_is_not_one_is_refused(text):
    with pytest.raises(PacsError, match="date range"):
        normalise_date_range(text)


def test_patient_level_takes_only_name_and_id():
    with pytest.raises(PacsError, match=r"only the patient name and ID .* modality"):
        QueryFilters("patient", modality="CT")
    with pytest.raises(PacsError, match="query level 'image'"):
        QueryFilters("image")


def test_a_match_reads_names_lists_and_counts():
    answer = Dataset()
    answer.PatientName = "Doe^Jane"
    answer.ModalitiesInStudy = ["CT", "SR"]
    answer.NumberOfStudyRelatedInstances = "12"
    match = match_from_dataset("study", answer)
    assert (match.patient_name, match.modalities, match.instances) == ("Doe^Jane", "CT\\SR", 12)
    assert set(match.as_dict()) == {"level", "patient_name", "patient_id", "study_uid", "study_date",
                                    "study_description", "accession_number", "modalities", "instances"}
