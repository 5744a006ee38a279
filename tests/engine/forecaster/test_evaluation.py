"""The forecaster evaluation: subgroup tables, scoring of a method's forecasts, and a run on real PhysioNet records."""

from __future__ import annotations

import json
import tarfile
import threading

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier  # noqa: F401 (loads OpenMP before the limit)
from threadpoolctl import threadpool_limits

from medstation.core.timeline import Timeline, TimeSeries
from medstation.engine.forecaster.baselines import (
    BaselineForecaster,
    GradientBoostingMortality,
    LastMeanBlend,
    LastObservation,
    tune_blend_weights,
)
from medstation.engine.forecaster.evaluation import (
    DEFAULT_EVAL_VARIABLES,
    HORIZON,
    ORIGINS,
    RISK_HOUR,
    evaluate_forecaster,
    labels_for,
    method_at_targets,
    risk_metrics,
    subgroup_table,
    subgroups,
    trend_metrics,
)
from medstation.engine.forecaster.metrics import collect_targets
from medstation.errors import Cancelled, MedStationError, ModelError
from medstation.io.timelines.physionet import parse_record, read_outcomes


def patient(name: str, static: dict, **series: tuple[list[float], list[float]]) -> Timeline:
    return Timeline(name, static, {n: TimeSeries(n, h, v) for n, (h, v) in series.items()})


def test_subgroup_table_gives_auroc_patients_and_deaths_per_group_and_the_largest_gap():
    labels = np.array([1, 0, 0, 1, 0, 1, 0, 0])
    risk = np.array([0.9, 0.1, 0.2, 0.3, 0.4, 0.8, 0.7, 0.6])
    groups = np.array(["f", "f", "f", "m", "m", "m", "m", "x"])
    table = subgroup_table(labels, risk, groups)
    assert table["groups"]["f"] == {"auroc": 1.0, "n": 3, "deaths": 1}
    assert table["groups"]["m"] == {"auroc": 0.5, "n": 4, "deaths": 2}
    assert table["groups"]["x"] == {"auroc": None, "n": 1, "deaths": 0}
    assert table["largest_gap"] == {"gap": 0.5, "highest": "f", "lowest": "m"}


def test_subgroups_name_sex_age_band_and_icu_type():
    patients = [
        patient("1", {"Gender": 0.0, "Age": 49.9, "ICUType": 3.0}),
        patient("2", {"Gender": 1.0, "Age": 80.0, "ICUType": 2.0}),
        patient("3", {"Age": 65.0}),
        patient("4", {"Gender": -1.0, "Age": -1.0, "ICUType": float("nan")}),
    ]
    groups = subgroups(patients)
    assert groups["sex"].tolist() == ["female", "male", "unknown", "unknown"]
    assert groups["age_band"].tolist() == ["under 50", "80 and over", "65-79", "unknown"]
    assert groups["icu_type"].tolist() == ["Medical ICU", "Cardiac surgery recovery", "unknown", "unknown"]


def test_risk_metrics_ece_on_known_inputs():
    labels = np.array([1, 0, 0, 0, 0] * 4)
    calibrated = risk_metrics(labels, np.full(20, 0.2), {"sex": np.array(["f"] * 20)})
    assert calibrated["ece"] == pytest.approx(0.0)
    assert calibrated["mortality_auroc"] == 0.5
    overconfident = risk_metrics(np.ones(10, dtype=int), np.full(10, 0.9), {"sex": np.array(["f"] * 10)})
    assert overconfident["ece"] == pytest.approx(0.1)
    assert overconfident["mortality_auroc"] is None


def test_labels_come_from_the_outcomes_by_patient_id_and_must_cover_every_patient():
    patients = [patient("7", {}), patient("9", {})]
    assert labels_for(patients, {"9": 1, "7": 0, "8": 1}, "test").tolist() == [0, 1]
    with pytest.raises(MedStationError, match=r"no outcome \(first: 9"):
        labels_for(patients, {"7": 0}, "test")
    with pytest.raises(MedStationError, match="0/1"):
        labels_for(patients, [0, 2], "test")


class MissingMedians(LastObservation):
    """LOCF that gives no forecast (NaN) for MAP."""

    def predict_trend(self, timelines, origin, horizon):
        forecasts = super().predict_trend(timelines, origin, horizon)
        forecasts["MAP"] = np.full_like(forecasts["MAP"], np.nan)
        return forecasts


def test_a_method_is_scored_on_every_target_with_locf_standing_in_where_it_gives_nothing():
    patients = [
        patient(str(i), {}, HR=([10.0, 23.0, 26.0, 31.0], [80.0 + i, 90.0, 95.0, 99.0 - i]),
                MAP=([20.0, 25.0], [70.0, 75.0 + i]))
        for i in range(5)
    ]
    targets = {v: [collect_targets(patients, v, o, HORIZON) for o in ORIGINS] for v in ("HR", "MAP")}
    scales = {"HR": 2.0, "MAP": 5.0}
    locf = method_at_targets(LastObservation(["HR", "MAP"]), patients, targets)
    fallback = {v: rows[:, 1] for v, rows in locf.items()}
    reference = trend_metrics(locf, targets, scales, fallback)
    missing = trend_metrics(method_at_targets(MissingMedians(["HR", "MAP"]), patients, targets), targets, scales,
                            fallback)
    assert missing["mae"] == reference["mae"]
    assert missing["filled_by_locf"] == 5 and reference["filled_by_locf"] == 0
    # HR at origin 24: 95 vs last 90 at bin 2 for every patient; at origin 30: 99 - i vs 95 at bin 1
    assert reference["mae"]["HR"]["1"] == pytest.approx(np.mean([abs(4 - i) for i in range(5)]) / 2.0)
    assert reference["mae"]["HR"]["2"] == pytest.approx((5 * 5 + sum(abs(4 - i) for i in range(5))) / 10 / 2.0)
    assert reference["coverage80"] == {"HR": None, "MAP": None, "mean": None}


def test_a_forecast_of_the_wrong_shape_is_refused_naming_the_variable():
    class Short(LastObservation):
        def predict_trend(self, timelines, origin, horizon):
            return {v: f[:, :3] for v, f in super().predict_trend(timelines, origin, horizon).items()}

    patients = [patient("1", {}, HR=([10.0, 25.0], [80.0, 81.0]))]
    targets = {"HR": [collect_targets(patients, "HR", o, HORIZON) for o in ORIGINS]}
    with pytest.raises(ModelError, match="HR, expected"):
        method_at_targets(Short(["HR"]), patients, targets)


@pytest.fixture(scope="module")
def real_records(shared_path):
    """The first 100 set-a records (read as MedStation reads them) and their in-hospital deaths."""
    folder = shared_path("physionet2012")
    timelines = []
    with tarfile.open(folder / "set-a.tar.gz") as archive:
        for member in archive:
            if member.isfile() and member.name.endswith(".txt"):
                text = archive.extractfile(member).read().decode("utf-8")
                timelines.append(parse_record(text, member.name)[0])
                if len(timelines) == 100:
                    break
    return timelines, read_outcomes(folder / "Outcomes-a.txt")


def test_evaluation_runs_end_to_end_on_real_records_with_the_baselines_as_the_method(real_records):
    # one OpenMP thread: on a busy shared 2-core machine scikit-learn's thread pool made a 60-patient fit 150x slower
    # (66 s against 0.4 s); the limit holds only for libraries already loaded, hence the import above
    with threadpool_limits(1):
        run_end_to_end(*real_records)


def run_end_to_end(timelines: list[Timeline], outcomes: dict[str, int]) -> None:
    train, test = timelines[:60], timelines[60:]
    train_labels = [outcomes[t.patient_id] for t in train]
    weights = tune_blend_weights(train, DEFAULT_EVAL_VARIABLES, ORIGINS, HORIZON)
    gbm = GradientBoostingMortality().fit(train, train_labels, RISK_HOUR)
    method = BaselineForecaster(LastMeanBlend(weights), gbm)
    steps = []
    document = evaluate_forecaster(method, train, outcomes, test, outcomes, progress=lambda f, m: steps.append(f),
                                   split="set-a records 61-100")

    json.dumps(document, allow_nan=False)
    assert document["split"] == "set-a records 61-100"
    assert steps == sorted(steps) and steps[-1] == 1.0
    metrics, baselines = document["metrics"], document["baselines"]
    assert set(metrics["mae"]) == {*DEFAULT_EVAL_VARIABLES, "mean"}
    assert set(metrics["mae"]["mean"]) == {str(h) for h in range(1, 13)}
    # the method is the blend and the gradient boosting: scored on the same targets, it matches them exactly
    assert metrics["mae"] == baselines["blend"]["mae"]
    assert baselines["blend"]["weights"] == weights
    for name in ("mortality_auroc", "mortality_auprc", "ece"):
        assert metrics[name] == baselines["gbm"][name]
    assert 0.5 < metrics["mortality_auroc"] <= 1.0
    assert metrics["coverage80"]["mean"] is None and metrics["filled_by_locf"] == 0
    hr = baselines["locf"]["mae"]["HR"]
    assert 0.1 < hr["1"] < hr["12"] < 1.5
    assert set(metrics["subgroups"]) == {"sex", "age_band", "icu_type"}
    sexes = metrics["subgroups"]["sex"]["groups"]
    assert sum(row["n"] for row in sexes.values()) == 40
    assert sum(row["deaths"] for row in sexes.values()) == document["protocol"]["test_deaths"]
    assert document["goals"]["mae_6h_below_blend"] is False
    assert document["goals"]["mortality_auroc_above_gbm"] is False  # equal is not above
    assert document["goal_thresholds"]["mortality_auroc_above_gbm"]["threshold"] == metrics["mortality_auroc"]
    locf_6h = baselines["locf"]["mae"]["mean"]["6"]
    assert document["goal_thresholds"]["mae_6h_15pct_below_locf"]["threshold"] == pytest.approx(0.85 * locf_6h)
    assert document["protocol"]["targets"]["HR"] > 100

    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        evaluate_forecaster(method, train, outcomes, test, outcomes, cancel=cancel)


def test_an_empty_training_or_test_set_is_refused():
    patients = [patient("1", {}, HR=([10.0, 25.0], [80.0, 81.0]))]
    method = LastObservation(["HR"])
    with pytest.raises(MedStationError, match="one of the sets is empty"):
        evaluate_forecaster(method, patients, {"1": 0}, [], {}, variables=["HR"])
