"""The ICU trend forecaster: load a bundle, forecast a patient's next hours with an 80% interval, the risk of
in-hospital death from every hour, and the variables and hours that drove the latest risk (integrated gradients).

The workstation imports this module when it starts, so it imports no torch: the network
(:mod:`~medstation.engine.forecaster.network`) and the attributions (:mod:`~medstation.engine.forecaster.attribution`)
are imported where a forecaster is built and where its risk is explained.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from medstation.core.forecast import Contributor, ForecastPoint, PatientForecast
from medstation.core.timeline import VARIABLES, Timeline
from medstation.engine.bundles import Bundle, find_bundle, load_into
from medstation.engine.families import FAMILIES
from medstation.engine.forecaster.features import (
    FORECAST_VARIABLES,
    INPUT_VARIABLES,
    PER_VARIABLE,
    Normalisation,
    batch_inputs,
    carried_columns,
    input_size,
    patient_inputs,
)
from medstation.errors import ModelError
from medstation.progress import CancelToken, ProgressCallback, check_cancelled, report

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

    def _run(self, timelines: list[Timeline], hours: int, batch: int = 256) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities ``[N, hours + 1]`` and the unscaled-interval standardised quantiles forecast from hour
        ``hours`` ``[N, F, H, 3]``."""
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
        _, quantiles = self._run([t.until(origin) for t in timelines], step)
        return {name: q[:, :horizon] for name, q in self._to_units(quantiles).items()}

    def predict_risk(self, timelines: list[Timeline], hour: float) -> np.ndarray:
        """Probability of in-hospital death for each patient from the data up to ``hour``."""
        step = math.floor(hour)
        risks, _ = self._run([t.until(hour) for t in timelines], step)
        return risks[:, step]

    def forecast(
        self,
        timeline: Timeline,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        explain: bool = True,
    ) -> PatientForecast:
        """Forecast from the end of the patient's data: risk per hour so far, the next hours, and why."""
        last = max(0, math.ceil(timeline.last_hour - 1e-9))
        if last > MAX_HOURS:
            raise ModelError(
                f"{timeline.source or 'timeline'}: patient {timeline.patient_id} has data up to hour {last}; "
                f"{self.name} forecasts stays of up to {MAX_HOURS} hours ({MAX_HOURS // 24} days) since admission"
            )
        report(progress, 0.1, f"forecasting patient {timeline.patient_id}")
        risks, quantiles = self._run([timeline], last)
        check_cancelled(cancel)
        trend = self._to_units(quantiles[0])
        result = PatientForecast(timeline.patient_id, float(timeline.last_hour))
        result.risk = [(float(hour), float(p)) for hour, p in enumerate(risks[0])]
        for name, q in trend.items():
            if name in timeline.series and len(timeline.series[name]):
                result.forecast[name] = [
                    ForecastPoint(float(last + ahead + 1), *map(float, q[ahead])) for ahead in range(self.horizon)
                ]
        if explain:
            report(progress, 0.5, "explaining the risk")
            result.contributors = self.contributors(timeline, last)
        report(progress, 1.0, "forecast ready")
        return result

    def contributors(self, timeline: Timeline, hour: int, steps: int = 32) -> list[Contributor]:
        """The variables whose observations moved the risk at ``hour`` most, against the same patient with no
        observations (integrated gradients over the input sequence), each with the three hours whose observations
        weigh most (:mod:`medstation.engine.forecaster.attribution`)."""
        from medstation.engine.forecaster.attribution import attribution_by_source_hour, risk_attributions

        inputs, values = patient_inputs(timeline, self.normalisation, hour)
        empty = Timeline(timeline.patient_id, dict(timeline.static))
        baseline, _ = patient_inputs(empty, self.normalisation, hour)
        per_column = risk_attributions(self.ensemble, inputs, baseline, hour, steps)
        n = len(INPUT_VARIABLES) * PER_VARIABLE
        per_variable = attribution_by_source_hour(
            per_column[:, :n].reshape(hour + 1, len(INPUT_VARIABLES), PER_VARIABLE), values
        )
        totals = per_variable.sum(0)
        order = np.argsort(-np.abs(totals))[:TOP_CONTRIBUTORS]
        result = []
        for index in order:
            if totals[index] == 0:
                continue
            hours = np.argsort(-np.abs(per_variable[:, index]))[:3]
            result.append(Contributor(INPUT_VARIABLES[index], float(totals[index]), tuple(sorted(map(int, hours)))))
        return result


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
    ensemble.eval()
    return Forecaster(bundle.name, ensemble, normalisation, interval_scale, horizon, metadata)


def forecaster_from_trained(trained: TrainedForecaster, name: str) -> Forecaster:
    """A freshly trained ensemble, ready to evaluate before it is written as a bundle."""
    from medstation.engine.forecaster.network import build_ensemble

    recipe = trained.recipe
    ensemble = build_ensemble(input_size(), carried_columns(), recipe.horizon, recipe.hidden, recipe.members,
                              recipe.risk_models)
    ensemble.load_state_dict(trained.state_dict)
    ensemble.eval()
    return Forecaster(name, ensemble, trained.normalisation, trained.interval_scale, recipe.horizon, {})


def load_forecaster(name_or_path: str | Path = DEFAULT_MODEL) -> Forecaster:
    """The forecaster of a bundle named in the registry or at a folder path."""
    return forecaster_from_bundle(find_bundle(str(name_or_path)))


def forecast_patient(
    model: str | Path, timeline: Timeline, progress: ProgressCallback | None = None, cancel: CancelToken = None
) -> PatientForecast:
    """Load the forecaster bundle ``model`` (name or folder) and forecast from the end of ``timeline``."""
    return load_forecaster(model).forecast(timeline, progress=progress, cancel=cancel)
