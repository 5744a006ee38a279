"""The forecaster: causality, quantile order, a tiny training run that learns, bundles and the forecast result."""

import json
import math

import numpy as np
import pytest

from medstation.core.timeline import Timeline, TimeSeries
from medstation.engine.forecaster import forecaster_metadata, write_forecaster_bundle
from medstation.engine.forecaster.model import forecaster_from_trained, load_forecaster
from medstation.engine.forecaster.training import (
    ForecasterRecipe,
    interval_scales,
    losses,
    train_forecaster,
    variable_weights,
)
from medstation.engine.metrics import roc_auc
from medstation.errors import Cancelled, ModelError

TINY = ForecasterRecipe(hidden=8, members=2, epochs=8, patience=8, batch_size=16, learning_rate=2e-2, seed=3)


def _patient(index: int, died: int, rng) -> Timeline:
    """Synthetic stay: patients who die have a rising lactate and a faster heart; HR drifts with a known slope."""
    hours = np.sort(rng.uniform(0, 48, 40))
    lactate_hours = np.arange(2.0, 48.0, 6.0)
    lactate = (1.0 + 0.1 * lactate_hours) if died else np.full(len(lactate_hours), 1.2)
    heart = 80 + 25 * died + 0.5 * hours + rng.normal(0, 2, len(hours))
    series = {
        "HR": TimeSeries("HR", hours, heart),
        "Lactate": TimeSeries("Lactate", lactate_hours, lactate + rng.normal(0, 0.1, len(lactate_hours))),
    }
    return Timeline(str(1000 + index), {"Age": 60.0 + index % 20, "Gender": float(index % 2), "ICUType": 3.0},
                    series)


@pytest.fixture(scope="module")
def cohort():
    rng = np.random.default_rng(0)
    labels = {str(1000 + i): int(i % 4 == 0) for i in range(60)}
    return [_patient(i, labels[str(1000 + i)], rng) for i in range(60)], labels


@pytest.fixture(scope="module")
def trained(cohort):
    timelines, labels = cohort
    return train_forecaster(timelines, labels, TINY)


@pytest.mark.slow
def test_tiny_training_learns_the_risk_signal_and_calibrates_intervals(trained, cohort):
    timelines, labels = cohort
    assert trained.out_of_fold["mortality_auroc_48h"] > 0.9
    model = forecaster_from_trained(trained, "tiny")
    risk = model.predict_risk(timelines, 48)
    truth = np.array([labels[t.patient_id] for t in timelines])
    assert roc_auc(truth, risk) > 0.95
    assert set(trained.interval_scale) == set(model.variables)
    assert all(scale > 0 for scale in trained.interval_scale.values())


@pytest.mark.slow
def test_forecast_uses_only_data_up_to_the_origin(trained, cohort):
    model = forecaster_from_trained(trained, "tiny")
    timelines = cohort[0][:5]
    full = model.predict_trend(timelines, 24, 6)
    cut = model.predict_trend([t.until(24) for t in timelines], 24, 6)
    np.testing.assert_allclose(full["HR"], cut["HR"], rtol=1e-5)
    changed = [Timeline(t.patient_id, t.static, {**t.series, "HR": TimeSeries(
        "HR", t.series["HR"].hours, np.where(t.series["HR"].hours > 24, 250.0, t.series["HR"].values))})
        for t in timelines]
    np.testing.assert_allclose(model.predict_trend(changed, 24, 6)["HR"], full["HR"], rtol=1e-5)
    assert not np.allclose(model.predict_trend(changed, 30, 6)["HR"], model.predict_trend(timelines, 30, 6)["HR"])


@pytest.mark.slow
def test_quantiles_never_cross_and_stay_in_the_variable_units(trained, cohort):
    model = forecaster_from_trained(trained, "tiny")
    trend = model.predict_trend(cohort[0][:10], 36, 12)
    hr = trend["HR"]
    assert hr.shape == (10, 12, 3)
    assert (hr[..., 0] <= hr[..., 1]).all() and (hr[..., 1] <= hr[..., 2]).all()
    assert 60 < np.median(hr[..., 1]) < 160  # beats per minute, not standardised units
    lactate = trend["Lactate"]
    assert lactate.min() >= 0.1 and lactate.max() <= 40.0  # within the plausible range


def test_interval_scale_makes_a_known_interval_cover_80_percent():
    rng = np.random.default_rng(1)
    targets = rng.normal(0, 1, (400, 30, 1))
    quantiles = np.zeros((400, 30, 1, 2, 3))
    quantiles[..., 0], quantiles[..., 2] = -1.0, 1.0
    scale = interval_scales(quantiles, targets, horizon=2)[0]
    assert scale == pytest.approx(1.2816, abs=0.05)


def test_balanced_trend_loss_is_the_mean_of_the_variables_losses():
    import torch

    targets = torch.full((4, 10, 2), float("nan"))
    targets[:, 1:, 0] = 1.0  # an hourly variable: 36 observed bins, all of them targets of hours 0..8
    targets[0, 5, 1] = 3.0  # a variable seen once
    weights = variable_weights(targets)
    assert float(weights[0] * 36) == pytest.approx(float(weights[1] * 1))
    quantiles = torch.zeros((4, 10, 2, 1, 3))
    logits, labels = torch.zeros((4, 10, 1)), torch.zeros(4)
    _, unweighted = losses(logits, quantiles, targets, labels, horizon=1)
    _, balanced = losses(logits, quantiles, targets, labels, horizon=1, weights=weights)
    # pinball over (p10, p50, p90) of a target 1 or 3 above all-zero quantiles: (0.1 + 0.5 + 0.9) * error
    first, second = 1.5 * 1.0, 1.5 * 3.0
    assert float(unweighted) == pytest.approx((36 * first + second) / 37)
    assert float(balanced) == pytest.approx((first + second) / 2)


def test_each_risk_network_of_a_bag_learns_from_its_own_loss():
    import torch

    targets, quantiles = torch.full((3, 6, 1), float("nan")), torch.zeros((3, 6, 1, 1, 3))
    labels = torch.tensor([0.0, 1.0, 1.0])
    first, second = torch.randn(3, 6, 1), torch.randn(3, 6, 1)
    both, _ = losses(torch.cat([first, second], -1), quantiles, targets, labels, horizon=1)
    alone = [losses(logits, quantiles, targets, labels, horizon=1)[0] for logits in (first, second)]
    assert float(both) == pytest.approx(float(alone[0] + alone[1]))


def test_ensemble_risk_is_the_mean_probability_of_every_risk_network():
    import torch

    from medstation.engine.forecaster.features import carried_columns, input_size
    from medstation.engine.forecaster.network import build_ensemble

    ensemble = build_ensemble(input_size(), carried_columns(), horizon=2, hidden=16, members=2, risk_models=3).eval()
    inputs = torch.randn(2, 5, input_size())
    with torch.no_grad():
        probability, _ = ensemble(inputs)
        networks = [network(inputs) for member in ensemble.members for network in member.risk.models]
        assert len(networks) == 6
        expected = torch.stack([torch.sigmoid(logits) for logits in networks]).mean(0)
        assert torch.allclose(probability, expected)
        assert torch.allclose(torch.sigmoid(ensemble.risk_logit_at(inputs, 4)), expected[:, 4], atol=1e-6)


def test_cancel_stops_training(cohort):
    import threading

    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        train_forecaster(*cohort, TINY, cancel=cancel)


@pytest.mark.slow
def test_bundle_round_trip_forecast_and_contributors(trained, cohort, tmp_path):
    metadata = forecaster_metadata(trained, "synthetic cohort", 100, "", 1.0)
    bundle = write_forecaster_bundle(tmp_path / "tiny-forecaster", trained, metadata)
    model = load_forecaster(str(bundle.root))
    patient = cohort[0][0].until(30.5)
    result = model.forecast(patient)
    assert result.last_hour == pytest.approx(patient.last_hour)
    last = math.ceil(patient.last_hour)
    assert [hour for hour, _ in result.risk] == list(range(last + 1))
    assert set(result.forecast) == {"HR", "Lactate"}
    assert [q.hour for q in result.forecast["HR"]] == [last + 1.0 + k for k in range(12)]
    assert result.contributors and {c.variable for c in result.contributors} <= {"HR", "Lactate"}
    document = result.to_json()
    assert json.loads(json.dumps(document))["forecast"]["HR"][0].keys() == {"hour", "p10", "p50", "p90"}
    card = bundle.model_card()
    assert "Not a medical device" in card and "never inputs" in card
    assert f"{trained.out_of_fold['mortality_auroc_48h']:.3f}" in card


@pytest.mark.slow
def test_damaged_or_wrong_bundles_are_refused(trained, tmp_path, untrained_classifier_bundle):
    metadata = forecaster_metadata(trained, "synthetic cohort", 100, "", 1.0)
    bundle = write_forecaster_bundle(tmp_path / "f", trained, metadata)
    with bundle.weights_path.open("r+b") as weights:
        weights.seek(200)
        weights.write(b"\x00\x01\x02")
    with pytest.raises(ModelError, match=r"model\.pt"):
        load_forecaster(str(bundle.root))
    with pytest.raises(ModelError, match="not a forecaster"):
        load_forecaster(untrained_classifier_bundle)


def test_card_goal_table_tells_a_value_from_a_threshold_it_rounds_to():
    from medstation.engine.forecaster.card import _goal_lines

    evaluation = {
        "goals": {"auroc_at_least": False, "coverage": True},
        "goal_thresholds": {
            "auroc_at_least": {"value": 0.869981, "threshold": 0.87, "rule": "at least"},
            "coverage": {"value": 0.8037, "threshold": [0.75, 0.85], "rule": "within"},
        },
    }
    lines = _goal_lines(evaluation)
    assert "| auroc at least | 0.86998 | at least 0.87000 | **no** |" in lines
    assert "| coverage | 0.804 | within 0.750 to 0.850 | yes |" in lines
