"""Hourly binning, masks, time since last observation, running summaries and standardisation."""

import numpy as np
import pytest

from medstation.core.timeline import Timeline, TimeSeries
from medstation.engine.forecaster.features import (
    INPUT_VARIABLES,
    PER_VARIABLE,
    Normalisation,
    bin_hourly,
    input_size,
    patient_inputs,
)


def _timeline(**series) -> Timeline:
    return Timeline("p1", {"Age": 60.0, "Gender": 1.0, "ICUType": 3.0},
                    {name: TimeSeries(name, h, v) for name, (h, v) in series.items()})


def _identity() -> Normalisation:
    names = [*INPUT_VARIABLES, "static:Age", "static:Height", "static:Weight"]
    return Normalisation({n: 0.0 for n in names}, {n: 1.0 for n in names})


def test_bins_hold_the_hour_ending_at_their_index():
    hr = INPUT_VARIABLES.index("HR")
    timeline = _timeline(HR=([0.0, 0.4, 1.0, 1.01, 5.5], [50, 60, 80, 90, 100]))
    values, mask = bin_hourly(timeline, _identity(), hours=6)
    assert values[0, hr] == 50  # the admission instant
    assert values[1, hr] == 70  # (0, 1]: mean of 60 and 80
    assert values[2, hr] == 90
    assert values[6, hr] == 100
    assert mask[:, hr].tolist() == [True, True, True, False, False, False, True]
    assert np.isnan(values[3, hr])


def test_observations_after_the_last_bin_are_left_out():
    hr = INPUT_VARIABLES.index("HR")
    values, mask = bin_hourly(_timeline(HR=([2.0, 9.0], [70, 120])), _identity(), hours=4)
    assert mask[:, hr].sum() == 1 and values[2, hr] == 70


def test_inputs_carry_the_last_value_forward_with_hours_since_and_running_summaries():
    hr = INPUT_VARIABLES.index("HR") * PER_VARIABLE
    inputs, _ = patient_inputs(_timeline(HR=([1.0, 3.0], [80.0, 100.0])), _identity(), hours=5)
    assert inputs.shape == (6, input_size())
    carried, mask, delta = inputs[:, hr], inputs[:, hr + 1], inputs[:, hr + 2]
    running_min, running_max, running_mean = inputs[:, hr + 3], inputs[:, hr + 4], inputs[:, hr + 5]
    assert carried.tolist() == [0, 80, 80, 100, 100, 100]
    assert mask.tolist() == [0, 1, 0, 1, 0, 0]
    np.testing.assert_allclose(delta * 12, [1, 0, 1, 0, 1, 2])
    assert running_min.tolist() == [0, 80, 80, 80, 80, 80]
    assert running_max.tolist() == [0, 80, 80, 100, 100, 100]
    assert running_mean.tolist() == [0, 80, 80, 90, 90, 90]


def test_standardisation_round_trips_including_log_variables():
    timelines = [_timeline(Lactate=([1.0, 2.0], [1.5, 4.0]), HR=([1.0], [90.0])),
                 _timeline(Lactate=([3.0], [0.9]), HR=([2.0], [70.0]))]
    norm = Normalisation.fit(timelines)
    values = np.array([0.9, 1.5, 4.0])
    assert np.allclose(norm.unscale("Lactate", norm.scale("Lactate", values)), values)
    scaled = norm.scale("Lactate", values)
    assert scaled.mean() == pytest.approx(0.0, abs=1e-9)
    assert norm.scale("HR", np.array([80.0]))[0] == pytest.approx(0.0)
    assert Normalisation.from_json(norm.to_json()) == norm


def test_static_attributes_and_icu_type_enter_every_hour():
    inputs, _ = patient_inputs(_timeline(), _identity(), hours=2)
    static = inputs[:, len(INPUT_VARIABLES) * PER_VARIABLE:-1]
    assert (static == static[0]).all()
    assert static[0, 0] == 60.0 and static[0, 1] == 0.5  # age (identity scaling), sex centred
    assert static[0, 4:].tolist() == [0, 0, 1, 0]  # ICU type 3
