"""LSTM trend forecaster and risk model: train into a bundle, load, forecast with intervals, evaluate.

Names are imported from their modules on first use (:mod:`medstation.lazy_exports`).
"""

from medstation.lazy_exports import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "card": ("figure", "forecaster_metadata", "record_evaluation", "write_forecaster_bundle"),
    "evaluation": ("evaluate_forecaster",),
    "model": ("DEFAULT_MODEL", "Forecaster", "forecast_patient", "forecaster_from_bundle", "forecaster_from_trained",
              "load_forecaster"),
    "recipe": ("ForecasterRecipe",),
    "training": ("TrainedForecaster", "train_forecaster"),
})
