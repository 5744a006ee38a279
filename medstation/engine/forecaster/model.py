"""The ICU trend forecaster: load a bundle, forecast a patient's next hours with an 80% interval, the risk of
in-hospital death from every hour, and the variables and hours that drove the latest risk (integrated gradients).

The workstation imports this module when it starts, so it imports no torch: the network
(:mod:`~medstation.engine.forecaster.network`) and the batched forecasts with their attributions
(:mod:`~medstation.engine.forecaster.cohort`) are imported where a forecaster is built and where it forecasts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from medstation.core.forecast import PatientForecast
from medstation.core.timeline import VARIABLES, Timeline
from medstation.engine.bundles import Bundle, find_bundle, load_into
from medstation.engine.families import FAMILIES
from medstation.engine.forecaster.features import (
    FORECAST_VARIABLES,
    INPUT_VARIABLES,
    Normalisation,
    batch_inputs,
    carried_columns,
    input_size,
)
from medstation.errors import ModelError
from medstation.progress import CancelToken, ProgressCallback, report

if TYPE_CHECKING:
    from medstation.engine.forecaster.network import ForecasterEnsemble
    from medstation.engine.forecaster.training import TrainedForecaster

DEFAULT_MODEL = FAMILIES["forecaster"].shipped
TOP_CONTRIBUTORS = 5
MAX_HOURS = 24 * 90
"""The longest stay the forecaster reads, in hours since admission: it steps through every hour of it."""


@dataclass
class Forecaster:
    """A loaded forecaster bundle, ready to run on CPU or GPU."""

    name: str
    ensemble: ForecasterEnsemble
    normalisation: Normalisation
    interval_scale: dict[str, float]
    horizon: int
    metadata: dict

    variables: tuple[str, ...] = FORECAST_VARIABLES
    root: Path | None = None
    """The bundle's folder (None for an ensemble just trained): what a worker process loads the forecaster from."""

    def _run(self, timelines: list[Timeline], hours: int, batch: int = 256) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities ``[N, hours + 1]`` and the unscaled-interval standardised quantiles forecast from hour
        ``hours`` ``[N, F, H, 3]``, from the observations up to hour bin ``hours`` (later ones are not binned, so
        the timelines need not be cut first)."""
        inputs, _ = batch_inputs(timelines, self.normalisation, hours)
        return self.ensemble.predict(inputs, hours, batch)

    def _to_units(self, quantiles: np.ndarray) -> dict[str, np.ndarray]:
        """Standardised quantiles ``[..., F, H, 3]`` as calibrated intervals in each variable's own unit, within the
        variable's plausible range (a GCS below 3 or a saturation above 100% cannot be measured)."""
        result = {}
        for index, name in enumerate(self.variables):
            q = quantiles[..., index, :, :].astype(np.float64)
            scale = self.interval_scale.get(name, 1.0)
            median = q[..., 1]
            low = median - scale * (median - q[..., 0])
            high = median + scale * (q[..., 2] - median)
            variable = VARIABLES[name]
            result[name] = np.clip(
                np.stack([self.normalisation.unscale(name, v) for v in (low, median, high)], axis=-1),
                variable.low,
                variable.high,
            )
        return result

    def predict_trend(self, timelines: list[Timeline], origin: float, horizon: int) -> dict[str, np.ndarray]:
        """Per variable ``[N, horizon, 3]`` (p10, p50, p90) for the hour bins after ``origin``, from data up to it."""
        if horizon > self.horizon:
            raise ModelError(f"{self.name} forecasts at most {self.horizon} hours ahead, not {horizon}")
        step = math.floor(origin)
        _, quantiles = self._run(timelines, step)
        return {name: q[:, :horizon] for name, q in self._to_units(quantiles).items()}

    def predict_risk(self, timelines: list[Timeline], hour: float) -> np.ndarray:
        """Probability of in-hospital death for each patient from the data up to ``hour``."""
        step = math.floor(hour)
        risks, _ = self._run(timelines, step)
        return risks[:, step]

    def forecast(
        self,
        timeline: Timeline,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        explain: bool = True,
    ) -> PatientForecast:
        """Forecast from the end of the patient's data: risk per hour so far, the next hours, and why."""
        from medstation.engine.forecaster.cohort import ForecastTask

        task = ForecastTask(self, explain, skip_unmeasured=False)
        prepared = task.prepare([timeline])
        if prepared.skipped:
            raise ModelError(prepared.skipped[0][1])
        report(progress, 0.1, f"forecasting patient {timeline.patient_id}")
        (result,) = task.run(prepared.payload, cancel)
        report(progress, 1.0, "forecast ready")
        return result

    def forecast_many(
        self,
        timelines: Sequence[Timeline],
        explain: bool = True,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        workers: int = 0,
    ) -> tuple[list[PatientForecast], list[tuple[str, str]]]:
        """The forecasts of many patients, batched (:mod:`medstation.engine.forecaster.cohort`), in input order,
        and ``(patient id, reason)`` for each patient skipped (no measurements, or a stay too long). With
        ``workers`` > 0, that many worker processes share the chunks, as ``medstation forecast`` does
        (:func:`~medstation.engine.forecaster.cohort.forecast_cohort`); 0 keeps everything in this process."""
        from medstation.engine.forecaster.cohort import CHUNK, forecast_cohort

        results: list[PatientForecast] = []
        summary = forecast_cohort(self, timelines, results.extend, CHUNK, explain, workers=workers,
                                  progress=progress, cancel=cancel)
        return results, summary.skipped


def forecaster_from_bundle(bundle: Bundle) -> Forecaster:
    """The forecaster in an opened bundle (task "forecasting"), weights checked and loaded safely."""
    from medstation.engine.forecaster.network import build_ensemble

    FAMILIES["forecaster"].check(bundle)
    metadata = bundle.metadata.document
    spec = metadata.get("forecaster") or {}
    try:
        if tuple(spec["input_variables"]) != INPUT_VARIABLES or tuple(spec["forecast_variables"]) != FORECAST_VARIABLES:
            raise ModelError(f"{bundle.root}: made for other variables than this version of MedStation reads")
        ensemble = build_ensemble(input_size(), carried_columns(), int(spec["horizon"]), int(spec["hidden"]),
                                  int(spec["members"]), int(spec["risk_models"]))
        normalisation = Normalisation.from_json(spec["normalisation"])
        interval_scale = {k: float(v) for k, v in spec["interval_scale"].items()}
        horizon = int(spec["horizon"])
    except (KeyError, TypeError, ValueError) as error:
        raise ModelError(f"{bundle.metadata_path}: forecaster settings missing or malformed ({error})") from None
    load_into(ensemble, bundle.load_state_dict(), bundle.weights_path, "forecaster network")
    ensemble.eval().requires_grad_(False)
    return Forecaster(bundle.name, ensemble, normalisation, interval_scale, horizon, metadata, root=bundle.root)


def forecaster_from_trained(trained: TrainedForecaster, name: str) -> Forecaster:
    """A freshly trained ensemble, ready to evaluate before it is written as a bundle."""
    from medstation.engine.forecaster.network import build_ensemble

    recipe = trained.recipe
    ensemble = build_ensemble(input_size(), carried_columns(), recipe.horizon, recipe.hidden, recipe.members,
                              recipe.risk_models)
    ensemble.load_state_dict(trained.state_dict)
    ensemble.eval().requires_grad_(False)
    return Forecaster(name, ensemble, trained.normalisation, trained.interval_scale, recipe.horizon, {})


def load_forecaster(name_or_path: str | Path = DEFAULT_MODEL) -> Forecaster:
    """The forecaster of a bundle named in the registry or at a folder path."""
    return forecaster_from_bundle(find_bundle(str(name_or_path)))


def forecast_patient(
    model: str | Path, timeline: Timeline, progress: ProgressCallback | None = None, cancel: CancelToken = None
) -> PatientForecast:
    """Load the forecaster bundle ``model`` (name or folder) and forecast from the end of ``timeline``."""
    return load_forecaster(model).forecast(timeline, progress=progress, cancel=cancel)
