"""The forecaster network: an LSTM over hourly inputs with a risk head and a quantile trend head.

The trend head predicts, for every hour, the next ``horizon`` hours of each forecast variable as a change from its
last observed value (median) and two non-negative spreads (to the 10th and 90th percentiles), so the three
quantiles never cross. Each member holds several risk networks of different initial weights (a seed bag), and
several members trained with different seeds and folds are averaged.
"""

from __future__ import annotations

import numpy as np

from medstation.engine.forecaster.recipe import risk_hidden_size
from medstation.engine.runtime import engine_module, load_torch

torch = load_torch()
nn = engine_module("torch.nn")
functional = nn.functional


class Trunk(nn.Module):
    """Input projection and LSTM: a state per hour that only depends on that hour and earlier."""

    def __init__(self, n_inputs: int, hidden: int, dropout: float):
        super().__init__()
        self.project = nn.Sequential(nn.Linear(n_inputs, hidden), nn.GELU(), nn.Dropout(dropout))
        self.lstm = nn.LSTM(hidden, hidden, batch_first=True)
        self.dropout = nn.Dropout(dropout)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        states, _ = self.lstm(self.project(inputs))
        return self.dropout(states)


class RiskModel(nn.Module):
    """Log-odds of in-hospital death at every hour, from the LSTM state and that hour's inputs."""

    def __init__(self, n_inputs: int, hidden: int, dropout: float):
        super().__init__()
        self.trunk = Trunk(n_inputs, hidden, dropout)
        self.head = nn.Sequential(nn.Linear(hidden + n_inputs, hidden), nn.GELU(), nn.Dropout(dropout),
                                  nn.Linear(hidden, 1))

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.head(torch.cat([self.trunk(inputs), inputs], dim=-1)).squeeze(-1)

    def logit_at(self, inputs: torch.Tensor, hours: torch.Tensor | int) -> torch.Tensor:
        """Log-odds ``[N]`` at each patient's hour ``hours[i]`` (or one hour for all): the head runs at that hour
        only."""
        index = torch.arange(len(inputs), device=inputs.device)
        states = self.trunk(inputs)[index, hours]
        return self.head(torch.cat([states, inputs[index, hours]], dim=-1)).squeeze(-1)


class RiskBag(nn.Module):
    """Risk networks of the same shape and different initial weights; their log-odds side by side."""

    def __init__(self, n_inputs: int, hidden: int, dropout: float, count: int):
        super().__init__()
        self.models = nn.ModuleList(RiskModel(n_inputs, hidden, dropout) for _ in range(count))

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Log-odds ``[N, T, count]``."""
        return torch.stack([model(inputs) for model in self.models], dim=-1)


class TrendModel(nn.Module):
    """For every hour, (p10, p50, p90) of each forecast variable 1..horizon hours ahead, standardised."""

    def __init__(self, n_inputs: int, carried_columns: list[int], horizon: int, hidden: int, dropout: float):
        super().__init__()
        self.horizon = horizon
        self.register_buffer("carried_columns", torch.tensor(carried_columns, dtype=torch.long))
        self.trunk = Trunk(n_inputs, hidden, dropout)
        self.head = nn.Linear(hidden, len(carried_columns) * horizon * 3)

    def forward(self, inputs: torch.Tensor, steps: torch.Tensor | None = None) -> torch.Tensor:
        """Quantiles ``[N, S, F, horizon, 3]`` at the hours ``steps``: ``[S]`` the same for every patient, ``[N, S]``
        each patient's own, None every hour."""
        states = self.trunk(inputs)
        if steps is not None and steps.dim() == 2:
            index = torch.arange(len(inputs), device=inputs.device)[:, None]
            states, inputs = states[index, steps], inputs[index, steps]
        elif steps is not None:
            states, inputs = states[:, steps], inputs[:, steps]
        n, count, _ = inputs.shape
        raw = self.head(states).view(n, count, len(self.carried_columns), self.horizon, 3)
        last = inputs.index_select(-1, self.carried_columns).unsqueeze(-1)
        median = last + raw[..., 1]
        low = median - functional.softplus(raw[..., 0])
        high = median + functional.softplus(raw[..., 2])
        return torch.stack([low, median, high], dim=-1)


class TrendRiskLSTM(nn.Module):
    """One member: its risk networks and the trend head, each on its own LSTM trunk so that each can be kept at
    the epoch where it generalises best (sharing one trunk, the risk overfits while the trend still improves)."""

    def __init__(
        self, n_inputs: int, carried_columns: list[int], horizon: int, hidden: int, dropout: float, risk_models: int
    ):
        super().__init__()
        self.risk = RiskBag(n_inputs, risk_hidden_size(hidden), dropout, risk_models)
        self.trend = TrendModel(n_inputs, carried_columns, horizon, hidden, dropout)

    def forward(
        self, inputs: torch.Tensor, steps: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Risk logits ``[N, T, risk models]`` and standardised quantiles ``[N, S, F, horizon, 3]`` for inputs
        ``[N, T, D]``, at the hours ``steps`` (every hour when None)."""
        return self.risk(inputs), self.trend(inputs, steps)


class ForecasterEnsemble(nn.Module):
    """Members averaged: the mean probability of death over every risk network, and the mean of each quantile."""

    def __init__(self, members: list[TrendRiskLSTM]):
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(
        self, inputs: torch.Tensor, steps: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Probabilities ``[N, T]`` and quantiles ``[N, S, F, horizon, 3]`` at the hours ``steps`` (every hour
        when None)."""
        risks, trends = zip(*(member(inputs, steps) for member in self.members), strict=True)
        return torch.sigmoid(torch.cat(risks, dim=-1)).mean(-1), torch.stack(trends).mean(0)

    def predict(
        self, inputs: np.ndarray, hours: int | np.ndarray, batch: int = 256
    ) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities ``[N, T]`` for binned inputs ``[N, T, D]`` and the standardised quantiles ``[N, F, horizon,
        3]`` forecast from hour ``hours`` (one for all, or each patient's own ``[N]``), without gradients,
        ``batch`` patients per call. The network is causal: the probabilities up to a patient's hour do not depend
        on the inputs after it, so patients of different lengths share a batch padded to the longest."""
        device = next(self.parameters()).device
        hours = np.array(np.broadcast_to(np.asarray(hours, dtype=np.int64), (len(inputs),)))
        risks, trends = [], []
        with torch.inference_mode():
            for start in range(0, len(inputs), batch):
                chunk = torch.from_numpy(inputs[start : start + batch]).to(device, non_blocking=True)
                steps = torch.from_numpy(hours[start : start + batch, None].copy()).to(device)
                risk, trend = self(chunk, steps)
                risks.append(risk.cpu().numpy())
                trends.append(trend[:, 0].cpu().numpy())
        if not risks:
            return np.zeros((0, inputs.shape[1]), np.float32), np.zeros((0, 0, 0, 3), np.float32)
        return np.concatenate(risks), np.concatenate(trends)

    def risk_logit_at(self, inputs: torch.Tensor, hours: torch.Tensor | int) -> torch.Tensor:
        """The ensemble's log-odds of death ``[N]`` at each patient's hour ``hours[i]`` (or one hour for all), for
        attribution: the mean probability of every risk network, as a log-odds."""
        logits = torch.stack([model.logit_at(inputs, hours) for member in self.members
                              for model in member.risk.models], dim=-1)
        probability = torch.sigmoid(logits).mean(-1)
        return torch.logit(probability.clamp(1e-6, 1 - 1e-6))


def build_ensemble(
    n_inputs: int,
    carried_columns: list[int],
    horizon: int,
    hidden: int,
    members: int,
    risk_models: int,
    dropout: float = 0.0,
) -> ForecasterEnsemble:
    """An ensemble of ``members`` untrained members with ``risk_models`` risk networks each."""
    return ForecasterEnsemble(
        [TrendRiskLSTM(n_inputs, carried_columns, horizon, hidden, dropout, risk_models) for _ in range(members)]
    )
