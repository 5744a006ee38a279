"""Measurements saved per series survive a reopen; damaged files are reported and kept, never lost."""

from __future__ import annotations

import numpy as np
import pytest

from medstation.core.measurements import (
    MeasurementList,
    Region,
    RegionStatistics,
    Ruler,
    measurement_from_record,
    measurement_record,
    measurement_row,
)
from medstation.errors import UnreadableInput
from medstation.io.measurement_store import MeasurementStore

SERIES, STUDY = "1.2.826.0.1.3680043.8.498.1", "1.2.826.0.1.3680043.8.498.2"


def _measurements() -> list:
    ruler = Ruler("axial", 12, np.array([1.0, -2.5, 30.0]), np.array([11.0, 4.5, 30.0]), id=3, unit="px")
    region = Region("coronal", 7, "ellipse", (1.0, 2.0, 9.5, 6.0), RegionStatistics(40.5, 3.25, 30.0, 55.0, 23.5, 20),
                    np.arange(12, dtype=float).reshape(4, 3), id=5)
    return [ruler, region]


def test_records_round_trip_every_field():
    for measurement in _measurements():
        back = measurement_from_record(measurement_record(measurement))
        assert type(back) is type(measurement)
        assert measurement_row(back) == measurement_row(measurement)


def test_saved_measurements_come_back_with_their_numbers(tmp_path):
    store = MeasurementStore(tmp_path)
    store.save(SERIES, STUDY, [measurement_record(m) for m in _measurements()])
    restored = MeasurementList()
    restored.restore([measurement_from_record(record) for record in MeasurementStore(tmp_path).load(SERIES)])
    assert [m.id for m in restored.items] == [3, 5]
    assert restored.add(Ruler("axial", 0, np.zeros(3), np.ones(3))).id == 6
    assert store.count(SERIES) == 2 and store.count("1.2.3") == 0


def test_saving_no_measurements_forgets_the_series(tmp_path):
    store = MeasurementStore(tmp_path)
    store.save(SERIES, STUDY, [measurement_record(_measurements()[0])])
    store.save(SERIES, STUDY, [])
    assert store.load(SERIES) == [] and not list(tmp_path.iterdir())


def test_a_damaged_file_is_reported_then_kept_beside_the_new_one(tmp_path):
    store = MeasurementStore(tmp_path)
    (tmp_path / f"{SERIES}.json").write_text("{not json")
    with pytest.raises(UnreadableInput, match=rf"{SERIES}\.json: saved measurements cannot be read"):
        store.load(SERIES)
    store.save(SERIES, STUDY, [measurement_record(_measurements()[0])])
    kept = [path.name for path in tmp_path.iterdir() if ".damaged-" in path.name]
    assert len(kept) == 1 and (tmp_path / kept[0]).read_text() == "{not json"
    assert len(store.load(SERIES)) == 1


def test_a_uid_that_is_not_digits_and_dots_cannot_name_a_path(tmp_path):
    store = MeasurementStore(tmp_path)
    store.save("../../etc/passwd", STUDY, [measurement_record(_measurements()[0])])
    assert [path.parent for path in tmp_path.rglob("*.json")] == [tmp_path]
    assert len(store.load("../../etc/passwd")) == 1


def test_saved_counts_list_every_measured_series_and_skip_damaged_files(tmp_path):
    store = MeasurementStore(tmp_path)
    store.save(SERIES, STUDY, [measurement_record(m) for m in _measurements()])
    (tmp_path / "1.2.3.json").write_text("{broken")
    assert store.saved_counts() == {SERIES: 2}
    assert MeasurementStore(tmp_path / "absent").saved_counts() == {}
