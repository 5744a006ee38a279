"""The forecaster's training recipe: every setting besides the data, its defaults the shipped model's.

Fields declared with :func:`~medstation.engine.recipes.setting` are the ones ``medstation train forecaster`` offers
as options; see :mod:`medstation.engine.forecaster.training` for how each is used.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from medstation.engine.recipes import setting


@dataclass(frozen=True)
class ForecasterRecipe:
    """Everything that decides a training run; stored in the bundle."""

    hidden: int = setting(128, "LSTM hidden size")
    members: int = setting(5, "ensemble members, cycling through the folds")
    risk_models: int = setting(2, "risk networks per member, of different initial weights, averaged")
    folds: int = 5
    epochs: int = setting(30, "most epochs per ensemble member")
    batch_size: int = 64
    learning_rate: float = 2e-3
    weight_decay: float = 1e-3
    dropout: float = setting(0.4, "dropout rate in training")
    patience: int = 5
    horizon: int = 12
    trend_hours_per_batch: int = 12
    risk_last_hour_share: float = 0.8
    balance_variables: bool = True
    seed: int = setting(0, "random seed")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def risk_hidden_size(hidden: int) -> int:
    """The risk networks' LSTM size for a trend LSTM of size ``hidden``: the risk needs less."""
    return max(hidden // 2, 8)
