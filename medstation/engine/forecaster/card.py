"""The model card of a forecaster bundle, written from its metadata."""

from __future__ import annotations

from typing import Any

from medstation.engine.forecaster.network import risk_hidden_size

CARD_VARIABLES = ("HR", "MAP", "SysABP", "RespRate", "Temp", "GCS", "Lactate", "Creatinine", "Glucose", "SaO2")

LIMITS = """## Limits — read before use

- Not a medical device. Research and review use only; never the basis of a treatment decision.
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
  not the patient's physiology.
"""


def figure(value: Any, digits: int = 3) -> str:
    """``value`` to ``digits`` decimals, or "n/a" where the data cannot give it (an AUROC with one outcome)."""
    return "n/a" if value is None else f"{value:.{digits}f}"


def _mortality_rows(evaluation: dict[str, Any]) -> list[str]:
    m, gbm = evaluation["metrics"], evaluation.get("baselines", {}).get("gbm", {})
    rows = ["| risk at hour 48 | this model | gradient boosting on 48 h summaries |", "|---|---|---|"]
    for key, name in (("mortality_auroc", "AUROC"), ("mortality_auprc", "AUPRC"), ("ece", "ECE (15 bins)")):
        rows.append(f"| {name} | {figure(m.get(key))} | {figure(gbm.get(key))} |")
    return rows


def _mae_rows(evaluation: dict[str, Any]) -> list[str]:
    m, baselines = evaluation["metrics"], evaluation.get("baselines", {})
    methods = [("this model", m.get("mae", {}))] + [
        (name, baselines[key].get("mae", {})) for key, name in
        (("locf", "last value carried forward"), ("linear", "linear trend"), ("blend", "tuned blend"))
        if key in baselines
    ]
    rows = ["| variable | " + " | ".join(name for name, _ in methods) + " |", "|---" * (len(methods) + 1) + "|"]
    for variable in (*CARD_VARIABLES, "mean"):
        cells = [figure(mae.get(variable, {}).get("6")) for _, mae in methods]
        rows.append(f"| {variable} | " + " | ".join(cells) + " |")
    return rows


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
    lines = ["### Goals", "", "| goal | value | threshold | met |", "|---|---|---|---|"]
    for name, goal in thresholds.items():
        threshold, value = goal["threshold"], goal["value"]
        bounds = threshold if isinstance(threshold, list) else [threshold]
        digits = _distinguishing_digits(value, bounds)
        shown = " to ".join(figure(bound, digits) for bound in bounds)
        met = "yes" if evaluation["goals"].get(name) else "**no**"
        lines.append(f"| {name.replace('_', ' ')} | {figure(value, digits)} | {goal['rule']} {shown} | {met} |")
    return [*lines, ""]


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
        lines += ["### Subgroups (risk AUROC at hour 48)", "", "| attribute | group | patients | deaths | AUROC |",
                  "|---|---|---|---|---|"]
        for attribute, table in subgroups.items():
            for group, row in (table.get("groups") or {}).items():
                lines.append(f"| {attribute} | {group} | {row.get('n')} | {row.get('deaths')} | "
                             f"{figure(row.get('auroc'))} |")
        lines.append("")
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
    lines = [
        f"# {name}",
        "",
        f"{metadata['description']}.",
        "",
        f"An ensemble of {spec['members']} members over hourly bins, each a trend LSTM (hidden size {spec['hidden']}) "
        f"and {_risk_networks(spec)} for the risk; each of the "
        f"{len(spec['input_variables'])} measured variables enters as its last value, an observed-this-hour mask, "
        f"the hours since it was last measured and its running minimum, maximum, mean and count, with age, sex, "
        f"height, weight and ICU type. Forecasts: {', '.join(spec['forecast_variables'])}, 1 to {spec['horizon']} "
        "hours ahead (10th, 50th, 90th percentiles).",
        "",
        "## Data",
        "",
        f"{data['name']} — `{data['source']}`: {data['splits']['train']} ICU stays. Label: `In-hospital_death` from "
        "the outcomes file, nothing else from it.",
        "",
        f"Licence: {data['licence']}.",
        "",
        f"Cite: {data['citation']}.",
        "",
        "## Training",
        "",
        "```",
        training["command"] or "(called from Python)",
        "```",
        "",
        f"{training['seconds'] / 60:.1f} minutes; epochs run per member {training['epochs_run']}. "
        f"{_recipe_text(recipe)} Out-of-fold AUROC of the risk at hour 48 on the training set: "
        f"{figure(training['out_of_fold']['mortality_auroc_48h'])}.",
        "",
    ]
    if "evaluation" in metadata:
        lines += _evaluation_section(metadata["evaluation"])
    lines.append(LIMITS)
    return "\n".join(lines)
