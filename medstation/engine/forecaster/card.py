"""The metadata document and the model card (``docs/README.md``) of a trained forecaster bundle, and recording an
evaluation in both.

The metadata holds everything inference needs besides the weights (the variables, the feature statistics, the
interval scales). The card's skeleton (title, data, recorded command, limits) is
:func:`medstation.engine.bundles.model_card`; here are the network, how it was trained and its held-out evaluation
against the baselines.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medstation import __version__
from medstation.engine.bundles import (
    BUNDLE_VERSION,
    Bundle,
    model_card,
    record_in_bundle,
    table,
    write_model_bundle,
)
from medstation.engine.forecaster.features import (
    FORECAST_VARIABLES,
    HOURS,
    INPUT_VARIABLES,
    LOG_VARIABLES,
    PER_VARIABLE,
    STATIC_FEATURES,
)
from medstation.engine.forecaster.recipe import risk_hidden_size

if TYPE_CHECKING:
    from medstation.engine.forecaster.training import TrainedForecaster

PHYSIONET_2012 = {
    "name": "PhysioNet/Computing in Cardiology Challenge 2012",
    "licence": "Open Data Commons Attribution License v1.0",
    "citation": "Silva I, Moody G, Scott DJ, Celi LA, Mark RG. Predicting In-Hospital Mortality of ICU Patients: "
    "The PhysioNet/Computing in Cardiology Challenge 2012. Computing in Cardiology 2012;39:245-248. "
    "Goldberger AL et al. PhysioBank, PhysioToolkit, and PhysioNet. Circulation 2000;101(23):e215-e220",
}
CARD_VARIABLES = ("HR", "MAP", "SysABP", "RespRate", "Temp", "GCS", "Lactate", "Creatinine", "Glucose", "SaO2")

LIMITS_HEADING = "Limits — read before use"
LIMITS = """- Not a medical device. Research and review use only; never the basis of a treatment decision.
- Trained on adult ICU stays of one US hospital system (2001-2008, the PhysioNet 2012 challenge: the first 48 hours
  of stays of at least 48 hours). Other populations, units, sampling habits or eras will shift both the risk and the
  trends; re-evaluate on local data before trusting any number.
- Inputs are the time-stamped measurements only (and age, sex, height, weight, ICU type). Scores summarising the
  stay (SAPS-I, SOFA), length of stay and survival are never inputs.
- The risk is the probability of death in hospital as estimated from data up to that hour; it is not a prognosis for
  an individual and says nothing about cause.
- Forecasts are of the next measured values, hour by hour, with an 80% interval calibrated on training data; about
  one measured value in five is expected outside it. Beyond hour 48 the network extrapolates its training range.
- The contributors list explains the model (integrated gradients against the same patient with no measurements),
  not the patient's physiology."""


def _summary(evaluation: dict[str, Any]) -> dict[str, float]:
    m = evaluation["metrics"]
    return {
        "mortality_auroc": m["mortality_auroc"],
        "mortality_auprc": m["mortality_auprc"],
        "ece": m["ece"],
        "mae_6h_mean": m["mae"]["mean"]["6"],
        "coverage80_mean": m["coverage80"]["mean"],
    }


def forecaster_metadata(
    trained: TrainedForecaster, data_source: str, patients: int, command: str, seconds: float, outcomes: str = ""
) -> dict[str, Any]:
    """The ``metadata.json`` document (without the weights checksum); ``outcomes`` is the labels' file."""
    recipe = trained.recipe
    metrics: dict[str, Any] = {
        "training (out-of-fold)": {"mortality_auroc": trained.out_of_fold["mortality_auroc_48h"]}
    }
    document: dict[str, Any] = {
        "version": BUNDLE_VERSION,
        "task": "forecasting",
        "description": "LSTM forecaster of ICU vital signs and laboratory values (next 12 hours, median and 80% "
        "interval) and of the risk of in-hospital death from every hour of the stay",
        "medstation_version": __version__,
        "forecaster": {
            "input_variables": list(INPUT_VARIABLES),
            "forecast_variables": list(FORECAST_VARIABLES),
            "log_variables": sorted(LOG_VARIABLES),
            "static_features": list(STATIC_FEATURES),
            "features_per_variable": PER_VARIABLE,
            "hours": HOURS,
            "horizon": recipe.horizon,
            "hidden": recipe.hidden,
            "members": recipe.members,
            "risk_models": recipe.risk_models,
            "interval": 0.8,
            "normalisation": trained.normalisation.to_json(),
            "interval_scale": trained.interval_scale,
        },
        "training": {
            "command": command,
            "outcomes": outcomes,
            "recipe": recipe.as_dict(),
            "seconds": round(seconds, 1),
            "out_of_fold": trained.out_of_fold,
            "epochs_run": _epochs_run(trained.history),
        },
        "training_data": {**PHYSIONET_2012, "source": data_source, "splits": {"train": patients}},
        "metrics": metrics,
    }
    return document


def _epochs_run(history: list[dict]) -> list[int]:
    runs: dict[int, int] = {}
    for row in history:
        runs[row["member"]] = max(runs.get(row["member"], 0), row["epoch"])
    return [runs[member] for member in sorted(runs)]


def figure(value: Any, digits: int = 3) -> str:
    """``value`` to ``digits`` decimals, or "n/a" where the data cannot give it (an AUROC with one outcome)."""
    return "n/a" if value is None else f"{value:.{digits}f}"


def _mortality_rows(evaluation: dict[str, Any]) -> list[str]:
    m, gbm = evaluation["metrics"], evaluation.get("baselines", {}).get("gbm", {})
    return table(("risk at hour 48", "this model", "gradient boosting on 48 h summaries"), [
        (name, figure(m.get(key)), figure(gbm.get(key)))
        for key, name in (("mortality_auroc", "AUROC"), ("mortality_auprc", "AUPRC"), ("ece", "ECE (15 bins)"))
    ])


def _mae_rows(evaluation: dict[str, Any]) -> list[str]:
    m, baselines = evaluation["metrics"], evaluation.get("baselines", {})
    methods = [("this model", m.get("mae", {}))] + [
        (name, baselines[key].get("mae", {})) for key, name in
        (("locf", "last value carried forward"), ("linear", "linear trend"), ("blend", "tuned blend"))
        if key in baselines
    ]
    return table(("variable", *(name for name, _ in methods)), [
        (variable, *(figure(mae.get(variable, {}).get("6")) for _, mae in methods))
        for variable in (*CARD_VARIABLES, "mean")
    ])


def _distinguishing_digits(value: float | None, bounds: list[float | None]) -> int:
    """Three decimals, or as many more (up to six) as it takes to tell the value from its thresholds."""
    for digits in range(3, 7):
        if value is None or all(bound is None or figure(value, digits) != figure(bound, digits) for bound in bounds):
            return digits
    return 6


def _goal_lines(evaluation: dict[str, Any]) -> list[str]:
    thresholds = evaluation.get("goal_thresholds") or {}
    if not thresholds:
        return []
    rows = []
    for name, goal in thresholds.items():
        threshold, value = goal["threshold"], goal["value"]
        bounds = threshold if isinstance(threshold, list) else [threshold]
        digits = _distinguishing_digits(value, bounds)
        shown = " to ".join(figure(bound, digits) for bound in bounds)
        met = "yes" if evaluation["goals"].get(name) else "**no**"
        rows.append((name.replace("_", " "), figure(value, digits), f"{goal['rule']} {shown}", met))
    return ["### Goals", "", *table(("goal", "value", "threshold", "met"), rows), ""]


def _evaluation_section(evaluation: dict[str, Any]) -> list[str]:
    m = evaluation["metrics"]
    lines = [
        "## Evaluation",
        "",
        f"On {evaluation.get('data', 'held-out data')} (split `{evaluation['split']}`, not used for training).",
        "",
        "### Risk of in-hospital death",
        "",
        *_mortality_rows(evaluation),
        "",
        "### Trend forecasts: mean absolute error at the 6-hour horizon",
        "",
        "Forecast origins at hours 24, 30 and 36; every measured value in (origin, origin + 6 h] is a target; errors "
        "in units of the training set's standard deviation of each variable; the same targets for every method.",
        "",
        *_mae_rows(evaluation),
        "",
        f"80% interval coverage (mean over variables): {figure(m.get('coverage80', {}).get('mean'))}.",
        "",
        *_goal_lines(evaluation),
    ]
    subgroups = m.get("subgroups") or {}
    if subgroups:
        rows = [
            (attribute, group, row.get("n"), row.get("deaths"), figure(row.get("auroc")))
            for attribute, groups in subgroups.items()
            for group, row in (groups.get("groups") or {}).items()
        ]
        lines += ["### Subgroups (risk AUROC at hour 48)", "",
                  *table(("attribute", "group", "patients", "deaths", "AUROC"), rows), ""]
    return lines


def _risk_networks(spec: dict) -> str:
    count, hidden = spec["risk_models"], risk_hidden_size(spec["hidden"])
    return f"{count} LSTMs (hidden size {hidden})" if count > 1 else f"an LSTM (hidden size {hidden})"


def _recipe_text(recipe: dict) -> str:
    folds = recipe.get("folds", 5)
    text = (f"The training set is split into {folds} stratified folds; each member learns from all folds but one and "
            "keeps each risk network at its best AUROC, its trend part at its best quantile loss on that fold.")
    if recipe.get("balance_variables"):
        text += " Every forecast variable carries the same total weight in the quantile loss."
    if "risk_last_hour_share" in recipe:
        text += (f" Hour 48 carries {recipe['risk_last_hour_share']:.0%} of the risk loss, the earlier hours the "
                 "rest, rising with the hour.")
    return text


def forecaster_card(name: str, metadata: dict[str, Any]) -> str:
    """The card: what the model does, its data, its training, its held-out metrics and its limits."""
    data, training, spec = metadata["training_data"], metadata["training"], metadata["forecaster"]
    recipe = training.get("recipe", {})
    overview = [
        f"{metadata['description']}.",
        "",
        f"An ensemble of {spec['members']} members over hourly bins, each a trend LSTM (hidden size {spec['hidden']}) "
        f"and {_risk_networks(spec)} for the risk; each of the "
        f"{len(spec['input_variables'])} measured variables enters as its last value, an observed-this-hour mask, "
        f"the hours since it was last measured and its running minimum, maximum, mean and count, with age, sex, "
        f"height, weight and ICU type. Forecasts: {', '.join(spec['forecast_variables'])}, 1 to {spec['horizon']} "
        "hours ahead (10th, 50th, 90th percentiles).",
        "",
    ]
    stays = (
        f"{data['name']} — `{data['source']}`: {data['splits']['train']} ICU stays. Label: `In-hospital_death` from "
        "the outcomes file, nothing else from it."
    )
    how = (
        f"{training['seconds'] / 60:.1f} minutes; epochs run per member {training['epochs_run']}. "
        f"{_recipe_text(recipe)} Out-of-fold AUROC of the risk at hour 48 on the training set: "
        f"{figure(training['out_of_fold']['mortality_auroc_48h'])}."
    )
    evaluation = _evaluation_section(metadata["evaluation"]) if "evaluation" in metadata else []
    return model_card(name, overview, stays, data, training["command"], [how, ""], evaluation, LIMITS, LIMITS_HEADING)


def write_forecaster_bundle(
    root: Path | str, trained: TrainedForecaster, metadata: dict[str, Any], overwrite: bool = False
) -> Bundle:
    """Write the bundle atomically and return it opened."""
    return write_model_bundle(root, metadata, trained.state_dict, forecaster_card, overwrite)


def record_evaluation(bundle: Bundle, evaluation: dict[str, Any]) -> Bundle:
    """Write an evaluation into a forecaster bundle's metadata and card; the weights are not touched."""
    document = json.loads(json.dumps(bundle.metadata.document))
    document["evaluation"] = evaluation
    document["metrics"][evaluation["split"]] = _summary(evaluation)
    return record_in_bundle(bundle, document, forecaster_card)
