"""Writing a trained forecaster as a model bundle: metadata with everything inference needs, and its card."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from medstation import __version__
from medstation.engine.forecaster.card import forecaster_card
from medstation.engine.forecaster.features import (
    FORECAST_VARIABLES,
    HOURS,
    INPUT_VARIABLES,
    LOG_VARIABLES,
    PER_VARIABLE,
    STATIC_FEATURES,
)
from medstation.engine.forecaster.training import TrainedForecaster, recipe_json
from medstation.errors import ModelError

PHYSIONET_2012 = {
    "name": "PhysioNet/Computing in Cardiology Challenge 2012",
    "licence": "Open Data Commons Attribution License v1.0",
    "citation": "Silva I, Moody G, Scott DJ, Celi LA, Mark RG. Predicting In-Hospital Mortality of ICU Patients: "
    "The PhysioNet/Computing in Cardiology Challenge 2012. Computing in Cardiology 2012;39:245-248. "
    "Goldberger AL et al. PhysioBank, PhysioToolkit, and PhysioNet. Circulation 2000;101(23):e215-e220",
}


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
        "version": "1.0.0",
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
            "recipe": recipe_json(recipe),
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


def write_forecaster_bundle(
    root: Path | str, trained: TrainedForecaster, metadata: dict[str, Any], overwrite: bool = False
):
    """Write the bundle atomically and return it opened."""
    from medstation.engine.bundles import write_bundle

    card = forecaster_card(Path(root).name, metadata)
    return write_bundle(root, metadata, trained.state_dict, card, overwrite=overwrite)


def _replace_text(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def record_evaluation(bundle, evaluation: dict[str, Any]):
    """Write an evaluation into a forecaster bundle's metadata and card; the weights are not touched."""
    from medstation.engine.bundles import open_bundle, validate_metadata

    document = json.loads(json.dumps(bundle.metadata.document))
    document["evaluation"] = evaluation
    document["metrics"][evaluation["split"]] = _summary(evaluation)
    validate_metadata(document, bundle.metadata_path)
    try:
        _replace_text(bundle.metadata_path, json.dumps(document, indent=2) + "\n")
        _replace_text(bundle.card_path, forecaster_card(bundle.name, document))
    except OSError as error:
        raise ModelError(f"{bundle.root}: cannot record the evaluation ({error})") from None
    return open_bundle(bundle.root)
