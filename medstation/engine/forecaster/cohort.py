"""Forecasts of many patients at once: what ``medstation forecast`` runs over a cohort, and what one patient's
forecast runs too.

Patients go through :func:`medstation.engine.batches.run_batches` as a :class:`ForecastTask`: each chunk is sorted by
length of stay and cut into batches of ``batch`` patients, each batch binned in one pass
(:func:`~medstation.engine.forecaster.features.batch_inputs`) up to its longest stay, run through the ensemble in
one forward pass, and explained by one integrated-gradients pass (:mod:`~medstation.engine.forecaster.attribution`).
The network is causal: a patient's outputs up to the hour forecast from do not depend on the padded hours after it,
so a forecast made in a batch equals the forecast made for that patient alone, within float rounding (the tests
hold them to 1e-5). Batching changes the speed, never the answer.

What the network says about a batch is kept as arrays (:class:`BatchOutput`: the risks and standardised quantiles
as the network gives them, float32, the contributors as variable indices, totals and hours), and the
:class:`~medstation.core.forecast.PatientForecast` objects are made from them last. With ``workers`` > 0 and the
network on the CPU (:func:`forecast_cohort`), each ``torch.utils.data.DataLoader`` worker process bins the chunks
it is given *and* runs the ensemble and the integrated gradients on them, on one thread, and sends back only those
arrays; the main process makes the objects and writes them. A CPU's cores are kept busier by processes that share
nothing than by one process whose threads wait on each other at every step of the recurrence, most of all on a
machine other work shares. With the network on a GPU, the workers only bin. A task sent to a worker by pickling
carries the bundle's folder, not the network (the worker loads the bundle itself; a forked worker has the
parent's). Whichever process runs a chunk, the same arrays make the same objects: a chunk run on one thread in a
worker equals the chunk run in this process on one thread, bit for bit, and on several threads within float
rounding.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from medstation.core.forecast import Contributor, ForecastPoint, PatientForecast
from medstation.core.timeline import Timeline
from medstation.engine.batches import BatchSummary, PreparedChunk, load_in_worker, run_batches, worker_plan
from medstation.engine.forecaster.attribution import attribution_by_source_hour, risk_attributions
from medstation.engine.forecaster.features import INPUT_VARIABLES, PER_VARIABLE, batch_inputs
from medstation.engine.forecaster.model import MAX_HOURS, TOP_CONTRIBUTORS, Forecaster
from medstation.progress import CancelToken, ProgressCallback, check_cancelled

CHUNK = 256
"""Patients per chunk: the unit a results file is written in, and what a killed job can lose at most."""
BATCH = 32
"""Patients per pass with contributors: integrated gradients runs ``BATCH`` times its steps paths at once."""
FORWARD_BATCH = 256
"""Patients per forward pass without contributors."""
HOURS_PER_CONTRIBUTOR = 3
"""The hours named with each contributor: those whose observations weigh most."""


@dataclass
class PatientBatch:
    """A batch of patients of similar length: their place in the chunk, binned inputs up to the longest stay, and
    what the results need."""

    places: list[int]
    ids: list[str]
    last_hours: list[float]
    measured: np.ndarray
    """``[N, forecast variables]``: whether the patient has any value of the variable (only those are forecast)."""
    lasts: np.ndarray
    inputs: np.ndarray
    values: np.ndarray
    baselines: np.ndarray | None


@dataclass
class BatchOutput:
    """What the network says about a batch, as compact arrays (what a worker process sends back): the risks
    ``[N, T]`` and standardised quantiles ``[N, F, horizon, 3]`` as the ensemble gives them (float32), and up to
    :data:`TOP_CONTRIBUTORS` contributors per patient: variable indices (-1 where none), summed attributions
    (float64) and hours (-1 where fewer)."""

    places: list[int]
    ids: list[str]
    last_hours: list[float]
    measured: np.ndarray
    lasts: np.ndarray
    risks: np.ndarray
    quantiles: np.ndarray
    variables: np.ndarray
    attributions: np.ndarray
    hours: np.ndarray


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

    With ``network_in_prepare`` (the network on the CPU, chunks prepared in worker processes), ``prepare`` runs the
    ensemble and the attributions too, and its payload is :class:`BatchOutput` arrays; otherwise it is the binned
    :class:`PatientBatch` es and ``run`` puts them through the network. Pickled (a worker that is not forked), the
    task carries the bundle's folder instead of the network, and the worker loads it on the CPU; a model with no
    bundle behind it (trained, not yet written) travels whole.
    """

    def __init__(self, model: Forecaster, explain: bool = True, skip_unmeasured: bool = True,
                 batch: int | None = None, network_in_prepare: bool = False):
        self.model: Forecaster | None = model
        self.root = model.root
        self.explain, self.skip_unmeasured = explain, skip_unmeasured
        self.batch = batch or (BATCH if explain else FORWARD_BATCH)
        self.network_in_prepare = network_in_prepare

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "model": None if self.root is not None else self.model}

    def _model(self) -> Forecaster:
        if self.model is None:
            from medstation.engine.forecaster.model import load_forecaster

            self.model = load_in_worker(lambda: load_forecaster(self.root))
        return self.model

    def key(self, timeline: Timeline) -> str:
        return timeline.patient_id

    def prepare(self, timelines: Sequence[Timeline]) -> PreparedChunk[list[PatientBatch] | list[BatchOutput]]:
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
        if self.network_in_prepare:
            batches = [self.compute(batch) for batch in batches]
        return PreparedChunk([t.patient_id for t in usable], batches, skipped)

    def _batch(self, usable: list[Timeline], places: np.ndarray, lasts: np.ndarray) -> PatientBatch:
        model = self._model()
        timelines = [usable[place] for place in places]
        hours = int(lasts[places].max())
        inputs, values = batch_inputs(timelines, model.normalisation, hours)
        baselines = None
        if self.explain:
            empty = [Timeline(t.patient_id, dict(t.static)) for t in timelines]
            baselines, _ = batch_inputs(empty, model.normalisation, hours)
        return PatientBatch(
            places=[int(place) for place in places],
            ids=[t.patient_id for t in timelines],
            last_hours=[float(t.last_hour) for t in timelines],
            measured=np.array([[name in t.series and len(t.series[name]) > 0 for name in model.variables]
                               for t in timelines], dtype=bool).reshape(len(timelines), len(model.variables)),
            lasts=lasts[places],
            inputs=inputs,
            values=values,
            baselines=baselines,
        )

    def run(self, payload: list[PatientBatch] | list[BatchOutput], cancel: CancelToken = None
            ) -> list[PatientForecast]:
        results: dict[int, PatientForecast] = {}
        for batch in payload:
            check_cancelled(cancel)
            output = batch if isinstance(batch, BatchOutput) else self.compute(batch)
            for place, result in zip(output.places, self.build(output), strict=True):
                results[place] = result
        return [results[place] for place in range(len(results))]

    def compute(self, batch: PatientBatch) -> BatchOutput:
        """The ensemble's risks and quantiles for a binned batch, and its contributors when ``explain``."""
        model = self._model()
        risks, quantiles = model.ensemble.predict(batch.inputs, batch.lasts, batch=len(batch.ids))
        count = len(batch.ids)
        variables = np.full((count, TOP_CONTRIBUTORS), -1, np.int16)
        attributions = np.zeros((count, TOP_CONTRIBUTORS))
        hours = np.full((count, TOP_CONTRIBUTORS, HOURS_PER_CONTRIBUTOR), -1, np.int16)
        if self.explain:
            per_variable = self._per_variable(batch)
            for row in range(count):
                _top(per_variable[row, : int(batch.lasts[row]) + 1], variables[row], attributions[row], hours[row])
        return BatchOutput(batch.places, batch.ids, batch.last_hours, batch.measured, batch.lasts, risks, quantiles,
                           variables, attributions, hours)

    def build(self, output: BatchOutput) -> list[PatientForecast]:
        """The forecast objects of a computed batch."""
        model = self._model()
        # flat lists: numpy makes one float object per value, not a list per point as a nested tolist does
        trend = [q.ravel().tolist() for q in model._to_units(output.quantiles).values()]
        risks, width = output.risks.ravel().tolist(), output.risks.shape[1]
        ahead = range(0, 3 * model.horizon, 3)
        forecast_hours = tuple(float(hour) for hour in range(int(output.lasts.max(initial=0)) + model.horizon + 2))
        results = []
        for row, patient in enumerate(output.ids):
            last = int(output.lasts[row])
            result = PatientForecast(patient, output.last_hours[row])
            result.risk = list(zip(HOURS[: last + 1], risks[row * width : row * width + last + 1], strict=True))
            start = row * 3 * model.horizon
            hours = forecast_hours[last + 1 : last + 1 + model.horizon]
            for index, name in enumerate(model.variables):
                if output.measured[row, index]:
                    q = trend[index]
                    result.forecast[name] = [ForecastPoint(hour, q[start + at], q[start + at + 1], q[start + at + 2])
                                             for hour, at in zip(hours, ahead, strict=True)]
            result.contributors = [
                Contributor(INPUT_VARIABLES[variable], float(output.attributions[row, rank]),
                            tuple(int(hour) for hour in output.hours[row, rank] if hour >= 0))
                for rank, variable in enumerate(output.variables[row]) if variable >= 0
            ]
            results.append(result)
        return results

    def _per_variable(self, batch: PatientBatch) -> np.ndarray:
        """Attribution per patient, hour and variable of the log-odds of death at each patient's hour, against the
        same patient with no observations."""
        per_column = risk_attributions(self._model().ensemble, batch.inputs, batch.baselines, batch.lasts)
        count, steps = per_column.shape[:2]
        width = len(INPUT_VARIABLES) * PER_VARIABLE
        return attribution_by_source_hour(
            per_column[:, :, :width].reshape(count, steps, len(INPUT_VARIABLES), PER_VARIABLE), batch.values
        )


def _top(per_variable: np.ndarray, variables: np.ndarray, attributions: np.ndarray, hours: np.ndarray) -> None:
    """The variables whose observations moved the risk most (into ``variables``, ``attributions``), each with the
    hours whose observations weigh most (``hours``, in order)."""
    totals = per_variable.sum(0)
    rank = 0
    for index in np.argsort(-np.abs(totals), kind="stable")[:TOP_CONTRIBUTORS]:
        if totals[index] == 0:
            continue
        heaviest = np.sort(np.argsort(-np.abs(per_variable[:, index]), kind="stable")[:HOURS_PER_CONTRIBUTOR])
        variables[rank], attributions[rank] = index, totals[index]
        hours[rank, : len(heaviest)] = heaviest
        rank += 1


def forecast_cohort(
    model: Forecaster,
    timelines: Sequence[Timeline],
    sink: Callable[[list[PatientForecast]], None],
    chunk_size: int = CHUNK,
    explain: bool = True,
    done: Collection[str] = (),
    workers: int = 0,
    progress: ProgressCallback | None = None,
    cancel: CancelToken = None,
    on_skipped: Callable[[str, str], None] | None = None,
) -> BatchSummary:
    """Forecast ``timelines`` chunk by chunk, handing each chunk's forecasts to ``sink`` (a results file, a list).

    ``workers`` processes prepare the chunks (0: this process does everything;
    :func:`~medstation.engine.batches.default_workers` is what the command starts). With the network on the CPU and
    more than one chunk, each worker also runs the ensemble and the attributions on its chunks on one thread (module
    docstring), and no more are started than there are chunks; otherwise this process runs the network while the
    workers bin. ``done`` holds the patients a resumed job wrote.
    """
    on_cpu = str(next(model.ensemble.parameters()).device) == "cpu"
    in_workers, workers = worker_plan(len(timelines), chunk_size, workers, on_cpu)
    task = ForecastTask(model, explain, network_in_prepare=in_workers)
    return run_batches(timelines, task, sink, chunk_size, done=done, workers=workers, progress=progress,
                       cancel=cancel, on_skipped=on_skipped)
