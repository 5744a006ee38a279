"""Forecasts of many patients at once: what ``medstation forecast`` runs over a cohort, and what one patient's
forecast runs too.

Patients go through :func:`medstation.engine.batches.run_batches` as a :class:`ForecastTask`: each chunk is sorted by
length of stay and cut into batches of ``batch`` patients, each batch binned in one pass
(:func:`~medstation.engine.forecaster.features.batch_inputs`) up to its longest stay, run through the ensemble in
one forward pass, and explained by one integrated-gradients pass (:mod:`~medstation.engine.forecaster.attribution`).
The network is causal: a patient's outputs up to the hour forecast from do not depend on the padded hours after it,
so a forecast made in a batch equals the forecast made for that patient alone, within float rounding (the tests
hold them to 1e-5). Batching changes the speed, never the answer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from medstation.core.forecast import Contributor, ForecastPoint, PatientForecast
from medstation.core.timeline import Timeline
from medstation.engine.batches import PreparedChunk
from medstation.engine.forecaster.attribution import attribution_by_source_hour, risk_attributions
from medstation.engine.forecaster.features import INPUT_VARIABLES, PER_VARIABLE, batch_inputs
from medstation.engine.forecaster.model import MAX_HOURS, TOP_CONTRIBUTORS, Forecaster
from medstation.progress import CancelToken, check_cancelled

CHUNK = 256
"""Patients per chunk: the unit a results file is written in, and what a killed job can lose at most."""
BATCH = 32
"""Patients per pass with contributors: integrated gradients runs ``BATCH`` times its steps paths at once."""
FORWARD_BATCH = 256
"""Patients per forward pass without contributors."""


@dataclass
class PatientBatch:
    """A batch of patients of similar length: their place in the chunk, binned inputs up to the longest stay, and
    what the results need."""

    places: list[int]
    ids: list[str]
    last_hours: list[float]
    measured: list[frozenset[str]]
    lasts: np.ndarray
    inputs: np.ndarray
    values: np.ndarray
    baselines: np.ndarray | None


HOURS = tuple(float(hour) for hour in range(MAX_HOURS + 1))


def last_step(timeline: Timeline) -> int:
    """The hour bin a forecast starts from: the one holding the patient's last observation."""
    return max(0, math.ceil(timeline.last_hour - 1e-9))


def too_long(timeline: Timeline) -> str | None:
    """Why the forecaster cannot read this stay (longer than :data:`MAX_HOURS`), None where it can."""
    last = last_step(timeline)
    if last <= MAX_HOURS:
        return None
    return (f"{timeline.source or 'timeline'}: patient {timeline.patient_id} has data up to hour {last}; the "
            f"forecaster forecasts stays of up to {MAX_HOURS} hours ({MAX_HOURS // 24} days) since admission")


class ForecastTask:
    """The forecaster's work for :func:`~medstation.engine.batches.run_batches`: timelines in, one
    :class:`PatientForecast` per usable patient out, contributors included when ``explain``.

    Patients with data beyond :data:`MAX_HOURS` are skipped, and with ``skip_unmeasured`` those without any
    measurement (a forecast from the admission attributes alone says nothing about the stay).
    """

    def __init__(self, model: Forecaster, explain: bool = True, skip_unmeasured: bool = True,
                 batch: int | None = None):
        self.model, self.explain, self.skip_unmeasured = model, explain, skip_unmeasured
        self.batch = batch or (BATCH if explain else FORWARD_BATCH)

    def key(self, timeline: Timeline) -> str:
        return timeline.patient_id

    def prepare(self, timelines: Sequence[Timeline]) -> PreparedChunk[list[PatientBatch]]:
        usable, skipped = [], []
        for timeline in timelines:
            problem = too_long(timeline)
            if problem is None and self.skip_unmeasured and not timeline.series:
                problem = f"{timeline.source or 'timeline'}: patient {timeline.patient_id} has no measurements"
            if problem is None:
                usable.append(timeline)
            else:
                skipped.append((timeline.patient_id, problem))
        lasts = np.array([last_step(t) for t in usable], dtype=np.int64)
        order = np.argsort(lasts, kind="stable")
        batches = [self._batch(usable, order[start : start + self.batch], lasts)
                   for start in range(0, len(order), self.batch)]
        return PreparedChunk([t.patient_id for t in usable], batches, skipped)

    def _batch(self, usable: list[Timeline], places: np.ndarray, lasts: np.ndarray) -> PatientBatch:
        timelines = [usable[place] for place in places]
        hours = int(lasts[places].max())
        inputs, values = batch_inputs(timelines, self.model.normalisation, hours)
        baselines = None
        if self.explain:
            empty = [Timeline(t.patient_id, dict(t.static)) for t in timelines]
            baselines, _ = batch_inputs(empty, self.model.normalisation, hours)
        return PatientBatch(
            places=[int(place) for place in places],
            ids=[t.patient_id for t in timelines],
            last_hours=[float(t.last_hour) for t in timelines],
            measured=[frozenset(name for name, s in t.series.items() if len(s)) for t in timelines],
            lasts=lasts[places],
            inputs=inputs,
            values=values,
            baselines=baselines,
        )

    def run(self, payload: list[PatientBatch], cancel: CancelToken = None) -> list[PatientForecast]:
        results: dict[int, PatientForecast] = {}
        for batch in payload:
            check_cancelled(cancel)
            for place, result in zip(batch.places, self._forecast(batch), strict=True):
                results[place] = result
        return [results[place] for place in range(len(results))]

    def _forecast(self, batch: PatientBatch) -> list[PatientForecast]:
        model = self.model
        risks, quantiles = model.ensemble.predict(batch.inputs, batch.lasts, batch=len(batch.ids))
        trend = {name: q.tolist() for name, q in model._to_units(quantiles).items()}
        risk_rows = risks.tolist()
        contributors = self._contributors(batch) if self.explain else [[] for _ in batch.ids]
        results = []
        for row, patient in enumerate(batch.ids):
            last = int(batch.lasts[row])
            result = PatientForecast(patient, batch.last_hours[row])
            result.risk = list(zip(HOURS[: last + 1], risk_rows[row][: last + 1], strict=True))
            for name, q in trend.items():
                if name in batch.measured[row]:
                    result.forecast[name] = [ForecastPoint(float(last + ahead + 1), *q[row][ahead])
                                             for ahead in range(model.horizon)]
            result.contributors = contributors[row]
            results.append(result)
        return results

    def _contributors(self, batch: PatientBatch) -> list[list[Contributor]]:
        """Per patient, the variables whose observations moved the risk at the hour forecast from most, against the
        same patient with no observations, each with the three hours whose observations weigh most."""
        per_column = risk_attributions(self.model.ensemble, batch.inputs, batch.baselines, batch.lasts)
        count, steps = per_column.shape[:2]
        width = len(INPUT_VARIABLES) * PER_VARIABLE
        per_variable = attribution_by_source_hour(
            per_column[:, :, :width].reshape(count, steps, len(INPUT_VARIABLES), PER_VARIABLE), batch.values
        )
        return [_top(per_variable[row, : int(batch.lasts[row]) + 1]) for row in range(count)]


def _top(per_variable: np.ndarray) -> list[Contributor]:
    totals = per_variable.sum(0)
    result = []
    for index in np.argsort(-np.abs(totals), kind="stable")[:TOP_CONTRIBUTORS]:
        if totals[index] == 0:
            continue
        hours = np.argsort(-np.abs(per_variable[:, index]), kind="stable")[:3]
        result.append(Contributor(INPUT_VARIABLES[index], float(totals[index]), tuple(sorted(map(int, hours)))))
    return result
