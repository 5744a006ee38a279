"""Attributions of the forecaster's risk: integrated gradients on its input columns (Captum), moved to the hours
whose observations they stand for.

An hour's input row summarises earlier hours too: the carried value and the hours since it were observed at the
last observation, the running minimum and maximum at the hours they were reached, the running mean and count at
every observation so far. Left on the row's own hour, the attribution of a risk would always point at the latest
hours; moved to the source observations, it points at the hours a reader should look at. Totals per variable are
unchanged.
"""

from __future__ import annotations

import numpy as np

from medstation.engine.forecaster.network import ForecasterEnsemble
from medstation.engine.runtime import engine_module, load_torch

torch = load_torch()
IntegratedGradients = engine_module("captum.attr").IntegratedGradients

CARRIED, MASK, DELTA, MINIMUM, MAXIMUM, MEAN, COUNT = range(7)


def _source_hours(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per hour and variable: the hour of the last observation, of the running minimum and of the running maximum
    so far (the hour itself while nothing was observed)."""
    hours, variables = values.shape
    last, low, high = (np.tile(np.arange(hours)[:, None], (1, variables)) for _ in range(3))
    for variable in range(variables):
        column = values[:, variable]
        seen_at = low_at = high_at = -1
        for hour in range(hours):
            value = column[hour]
            if not np.isnan(value):
                seen_at = hour
                low_at = hour if low_at < 0 or value < column[low_at] else low_at
                high_at = hour if high_at < 0 or value > column[high_at] else high_at
            if seen_at >= 0:
                last[hour, variable], low[hour, variable], high[hour, variable] = seen_at, low_at, high_at
    return last, low, high


def attribution_by_source_hour(per_column: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``[H, V]`` attribution per hour and variable from ``per_column`` ``[H, V, 7]`` (the input columns of
    :mod:`medstation.engine.forecaster.features`) and the binned values ``[H, V]`` (NaN where unobserved)."""
    hours, variables, _ = per_column.shape
    result = per_column[:, :, MASK].copy()
    last, low, high = _source_hours(values)
    columns = np.arange(variables)[None, :].repeat(hours, axis=0)
    for column, source in ((CARRIED, last), (DELTA, last), (MINIMUM, low), (MAXIMUM, high)):
        np.add.at(result, (source, columns), per_column[:, :, column])
    observed = ~np.isnan(values)
    counts = np.cumsum(observed, axis=0)
    spread = per_column[:, :, MEAN] + per_column[:, :, COUNT]
    share = np.where(counts > 0, spread / np.maximum(counts, 1), 0.0)
    result += observed * np.cumsum(share[::-1], axis=0)[::-1]
    result += np.where(counts == 0, spread, 0.0)
    return result


def risk_attributions(
    ensemble: ForecasterEnsemble, inputs: np.ndarray, baseline: np.ndarray, hour: int, steps: int
) -> np.ndarray:
    """Integrated gradients ``[T, D]`` of the ensemble's log-odds of death at ``hour`` for one patient's inputs
    ``[T, D]``, along the straight path from ``baseline`` ``[T, D]`` in ``steps`` steps."""
    attributions = IntegratedGradients(lambda v: ensemble.risk_logit_at(v, hour)).attribute(
        torch.from_numpy(inputs)[None], baselines=torch.from_numpy(baseline)[None], n_steps=steps
    )
    return attributions[0].detach().numpy()
