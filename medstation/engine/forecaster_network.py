"""The forecaster network: an LSTM over hourly inputs with a risk head and a quantile trend head.

The trend head predicts, for every hour, the next ``horizon`` hours of each forecast variable as a change from its
last observed value (median) and two non-negative spreads (to the 10th and 90th percentiles), so the three
quantiles never cross. Several members trained with different seeds and folds are averaged.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional


class TrendRiskLSTM(nn.Module):
    """One member: input projection, LSTM, risk logit per hour, (p10, p50, p90) per variable, horizon and hour."""

    def __init__(self, n_inputs: int, carried_columns: list[int], horizon: int, hidden: int, dropout: float):
        super().__init__()
        self.horizon = horizon
        self.register_buffer("carried_columns", torch.tensor(carried_columns, dtype=torch.long))
        n_forecast = len(carried_columns)
        self.project = nn.Sequential(nn.Linear(n_inputs, hidden), nn.GELU(), nn.Dropout(dropout))
        self.lstm = nn.LSTM(hidden, hidden, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.risk = nn.Sequential(nn.Linear(hidden + n_inputs, hidden), nn.GELU(), nn.Linear(hidden, 1))
        self.trend = nn.Linear(hidden, n_forecast * horizon * 3)

    def forward(
        self, inputs: torch.Tensor, steps: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Risk logits ``[N, T]`` and standardised quantiles ``[N, S, F, horizon, 3]`` for inputs ``[N, T, D]``,
        at the hours ``steps`` (every hour when None)."""
        states, _ = self.lstm(self.project(inputs))
        states = self.dropout(states)
        logits = self.risk(torch.cat([states, inputs], dim=-1)).squeeze(-1)
        if steps is not None:
            states, inputs = states[:, steps], inputs[:, steps]
        n, count, _ = inputs.shape
        raw = self.trend(states).view(n, count, len(self.carried_columns), self.horizon, 3)
        last = inputs.index_select(-1, self.carried_columns).unsqueeze(-1)
        median = last + raw[..., 1]
        low = median - functional.softplus(raw[..., 0])
        high = median + functional.softplus(raw[..., 2])
        return logits, torch.stack([low, median, high], dim=-1)


class ForecasterEnsemble(nn.Module):
    """Members averaged: the mean probability of death, and the mean of each quantile."""

    def __init__(self, members: list[TrendRiskLSTM]):
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Probabilities ``[N, T]`` and quantiles ``[N, T, F, horizon, 3]``."""
        risks, trends = zip(*(member(inputs) for member in self.members), strict=True)
        return torch.stack([torch.sigmoid(r) for r in risks]).mean(0), torch.stack(trends).mean(0)

    def risk_logit_at(self, inputs: torch.Tensor, step: int) -> torch.Tensor:
        """The ensemble's log-odds of death at one hour, for attribution."""
        probability = torch.stack([torch.sigmoid(member(inputs)[0][:, step]) for member in self.members]).mean(0)
        return torch.logit(probability.clamp(1e-6, 1 - 1e-6))


def build_ensemble(
    n_inputs: int, carried_columns: list[int], horizon: int, hidden: int, members: int, dropout: float = 0.0
) -> ForecasterEnsemble:
    return ForecasterEnsemble(
        [TrendRiskLSTM(n_inputs, carried_columns, horizon, hidden, dropout) for _ in range(members)]
    )
