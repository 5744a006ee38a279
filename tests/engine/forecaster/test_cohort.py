"""Batched forecasts of many patients equal the forecasts made one patient at a time (shipped model, real stays)."""

from __future__ import annotations

import tarfile

import numpy as np
import pytest

from medstation.engine.forecaster import load_forecaster
from medstation.engine.forecaster.cohort import ForecastTask
from medstation.errors import ModelError
from medstation.io.timelines.physionet import parse_record

pytestmark = pytest.mark.slow  # integrated gradients for every patient, twice


@pytest.fixture(scope="module")
def stays(shared_path):
    """24 real set-b stays: 16 whole, 8 cut at different hours, so that a batch holds stays of many lengths."""
    timelines = []
    with tarfile.open(shared_path("physionet2012", "set-b.tar.gz")) as tar:
        for member in tar:
            if member.isfile() and member.name.endswith(".txt"):
                timelines.append(parse_record(tar.extractfile(member).read().decode(), member.name)[0])
            if len(timelines) == 24:
                break
    cuts = (0.5, 3.0, 7.2, 12.0, 19.9, 26.0, 33.4, 41.0)
    return timelines[:16] + [t.until(hour) for t, hour in zip(timelines[16:], cuts, strict=True)]


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-5 * max(1.0, abs(b))


def test_batched_forecasts_equal_one_patient_at_a_time(stays):
    model = load_forecaster()
    batched, skipped = model.forecast_many(stays)
    assert skipped == []
    alone = [model.forecast(t) for t in stays]
    assert len({len(p.risk) for p in batched}) > 5
    for many, one in zip(batched, alone, strict=True):
        assert many.patient_id == one.patient_id and many.last_hour == one.last_hour
        assert [h for h, _ in many.risk] == [h for h, _ in one.risk]
        assert all(_close(a, b) for (_, a), (_, b) in zip(many.risk, one.risk, strict=True))
        assert many.forecast.keys() == one.forecast.keys()
        for name, points in many.forecast.items():
            for a, b in zip(points, one.forecast[name], strict=True):
                assert a.hour == b.hour and _close(a.p10, b.p10) and _close(a.p50, b.p50) and _close(a.p90, b.p90)
        assert many.contributors, many.patient_id
        assert [(c.variable, c.hours) for c in many.contributors] == [(c.variable, c.hours) for c in one.contributors]
        assert all(_close(a.attribution, b.attribution) for a, b in zip(many.contributors, one.contributors,
                                                                         strict=True))


def test_attributions_add_up_to_the_change_in_risk(stays):
    """Integrated gradients' completeness: the attributions of every input sum to the log-odds of death at the last
    hour minus that of the same patient with no observations, up to the error of 8 points per path (0.02 on average
    on set-b, at most a few tenths where the path bends sharply)."""
    from medstation.engine.forecaster.attribution import risk_attributions
    from medstation.engine.runtime import load_torch

    torch = load_torch()
    model = load_forecaster()
    chunk = ForecastTask(model).prepare(stays).payload
    errors = []
    for batch in chunk:
        per_column = risk_attributions(model.ensemble, batch.inputs, batch.baselines, batch.lasts)
        hours = torch.from_numpy(batch.lasts)
        with torch.no_grad():
            gap = (model.ensemble.risk_logit_at(torch.from_numpy(batch.inputs), hours)
                   - model.ensemble.risk_logit_at(torch.from_numpy(batch.baselines), hours)).numpy()
        for row, last in enumerate(batch.lasts):
            assert not per_column[row, last + 1 :].any()
        errors.extend(np.abs(per_column.sum((1, 2)) - gap))
    assert np.median(errors) < 0.05 and max(errors) < 0.5


def test_stays_beyond_the_longest_are_skipped_in_a_cohort_and_refused_alone(stays):
    from medstation.core.timeline import TimeSeries

    model = load_forecaster()
    long = stays[0].until(48.0)
    long.series["HR"] = TimeSeries("HR", np.array([1.0, 24.0 * 91]), np.array([80.0, 90.0]))
    results, skipped = model.forecast_many([stays[1], long, stays[2]], explain=False)
    assert [p.patient_id for p in results] == [stays[1].patient_id, stays[2].patient_id]
    assert [key for key, _ in skipped] == [long.patient_id] and "2160 hours" in skipped[0][1]
    with pytest.raises(ModelError, match="2160 hours"):
        model.forecast(long, explain=False)


def _same_forecasts(many, one) -> None:
    for a, b in zip(many, one, strict=True):
        assert a.patient_id == b.patient_id and a.last_hour == b.last_hour
        assert [h for h, _ in a.risk] == [h for h, _ in b.risk]
        assert all(_close(x, y) for (_, x), (_, y) in zip(a.risk, b.risk, strict=True))
        assert a.forecast.keys() == b.forecast.keys()
        for name, points in a.forecast.items():
            for x, y in zip(points, b.forecast[name], strict=True):
                assert x.hour == y.hour and _close(x.p10, y.p10) and _close(x.p50, y.p50) and _close(x.p90, y.p90)
        assert [(c.variable, c.hours) for c in a.contributors] == [(c.variable, c.hours) for c in b.contributors]
        assert all(_close(x.attribution, y.attribution) for x, y in zip(a.contributors, b.contributors, strict=True))


def test_worker_processes_forecast_what_one_process_does(stays):
    """Chunks binned, run and explained in worker processes on one thread each (forked here), and a task sent by
    pickling (as to a spawned worker: the bundle's folder, not the network), give this process's forecasts."""
    import pickle

    from medstation.engine.forecaster.cohort import BatchOutput, forecast_cohort

    model = load_forecaster()
    here, there = [], []
    assert forecast_cohort(model, stays, here.extend, chunk_size=8, workers=0).chunks == 3
    summary = forecast_cohort(model, stays, there.extend, chunk_size=8, workers=2)
    assert summary.chunks == 3 and summary.skipped == []
    assert len({len(p.risk) for p in there}) > 5 and all(p.contributors for p in there)
    _same_forecasts(there, here)
    task = ForecastTask(model, network_in_prepare=True)
    sent = pickle.loads(pickle.dumps(task))
    assert sent.model is None and sent.root == model.root
    prepared = sent.prepare(stays[:8])
    assert all(isinstance(output, BatchOutput) for output in prepared.payload)
    assert prepared.payload[0].risks.dtype == prepared.payload[0].quantiles.dtype == np.float32
    _same_forecasts(task.run(prepared.payload), here[:8])
