"""Training of the forecaster ensemble: members cycle through stratified folds of the training set, each early
stopped on the fold it does not learn from, and the out-of-fold predictions calibrate the 80% intervals
(split-conformal scaling per variable). The losses follow the evaluation: the risk loss puts most of its weight on
hour 48, and the trend loss gives every forecast variable the same total weight.

With a checkpoint file, the state of the run is written after every epoch (rank 0 alone under torchrun, atomically,
:mod:`medstation.engine.runtime.checkpoints`): the ensemble's weights (the members trained so far with the weights
they keep), the member in training's optimiser, learning-rate schedule, random generators (its shuffling and the
global one dropout draws from), its best held-out scores, the weights it kept at them and how long it has waited,
and the history. A resumed run recomputes the held-out outputs of the members trained so far from those weights
(the same numbers as when they were kept) and continues the member in training at its next epoch, so a run without
torchrun ends with the weights of an uninterrupted run. Under torchrun the order of the patients depends only on
the seed and the epoch, so a run resumes on any number of workers, to rounding.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from medstation.core.timeline import Timeline
from medstation.engine.forecaster.features import (
    FORECAST_VARIABLES,
    HOURS,
    INPUT_VARIABLES,
    Normalisation,
    batch_inputs,
    carried_columns,
    input_size,
)
from medstation.engine.forecaster.network import TrendRiskLSTM, build_ensemble
from medstation.engine.forecaster.recipe import ForecasterRecipe
from medstation.engine.metrics import roc_auc
from medstation.engine.runtime import (
    SINGLE,
    Workers,
    barrier,
    current,
    engine_module,
    load_optimisers,
    read_checkpoint,
    reduce_sum,
    write_checkpoint,
)
from medstation.errors import ModelError, UnreadableInput
from medstation.progress import CancelToken, ProgressCallback, check_cancelled, report

torch = load_optimisers()
functional = torch.nn.functional

QUANTILES = (0.1, 0.5, 0.9)


@dataclass
class TrainedForecaster:
    """The trained ensemble's weights and everything inference needs beside them."""

    state_dict: dict
    recipe: ForecasterRecipe
    normalisation: Normalisation
    interval_scale: dict[str, float]
    history: list[dict] = field(default_factory=list)
    out_of_fold: dict = field(default_factory=dict)


def forecast_value_columns() -> list[int]:
    return [INPUT_VARIABLES.index(name) for name in FORECAST_VARIABLES]


def risk_hour_weights(steps: int, last_share: float) -> torch.Tensor:
    """Weights of the hours in the risk loss: ``last_share`` on the last hour (hour 48, where mortality is judged),
    the rest rising linearly over the earlier hours so that the risk trajectory is learnt from every hour."""
    ramp = torch.arange(1, steps, dtype=torch.float32)
    return torch.cat([ramp / ramp.sum() * (1.0 - last_share), torch.tensor([last_share])])


def variable_weights(targets: torch.Tensor) -> torch.Tensor:
    """Per forecast variable, the weight of its trend-loss terms that gives every variable the same total weight over
    the observed bins of ``targets`` ``[N, T, F]``. The evaluation averages the variables' errors; unweighted, the
    hourly vital signs would outweigh the laboratory values measured a few times a day twenty to one."""
    counts = (~torch.isnan(targets)).sum((0, 1)).double().clamp(min=1.0)
    return (counts.mean() / counts).float()


def losses(
    logits: torch.Tensor,
    quantiles: torch.Tensor,
    targets: torch.Tensor,
    labels: torch.Tensor,
    horizon: int,
    steps: torch.Tensor | None = None,
    weights: torch.Tensor | None = None,
    last_share: float = 0.8,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Risk: cross-entropy of each risk network's log-odds ``[N, T, K]`` over hours weighted by
    :func:`risk_hour_weights`, summed over the networks (each learns on its own). Trend: pinball loss over every
    observed target bin within the horizon of the forecast hours ``steps`` (all when None), standardised units,
    each variable's terms weighted by ``weights`` ``[F]`` (equal when None)."""
    total, count = trend_loss_terms(quantiles, targets, horizon, steps, weights)
    return risk_loss(logits, labels, last_share), total / count.clamp(min=1e-9)


def risk_loss(logits: torch.Tensor, labels: torch.Tensor, last_share: float = 0.8) -> torch.Tensor:
    """The risk part of :func:`losses`: the batch mean of each patient's weighted cross-entropy."""
    hour_weights = risk_hour_weights(logits.shape[1], last_share).to(logits.device)[:, None]
    bce = functional.binary_cross_entropy_with_logits(logits, labels[:, None, None].expand_as(logits), reduction="none")
    return (bce * hour_weights).sum((1, 2)).mean()


def trend_loss_terms(
    quantiles: torch.Tensor,
    targets: torch.Tensor,
    horizon: int,
    steps: torch.Tensor | None = None,
    weights: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The trend part of :func:`losses` as its weighted pinball sum and the weight of the targets it sums over."""
    levels = torch.tensor(QUANTILES, device=quantiles.device)
    weights = quantiles.new_ones(targets.shape[-1]) if weights is None else weights.to(quantiles.device)
    total, count = quantiles.new_zeros(()), quantiles.new_zeros(())
    hours = targets.shape[1]
    steps = torch.arange(hours, device=quantiles.device) if steps is None else steps
    for ahead in range(1, horizon + 1):
        valid = steps + ahead < hours
        target = targets[:, steps[valid] + ahead, :]
        predicted = quantiles[:, valid, :, ahead - 1, :]
        seen = (~torch.isnan(target)) * weights
        error = torch.nan_to_num(target).unsqueeze(-1) - predicted
        pinball = torch.maximum(levels * error, (levels - 1) * error).sum(-1)
        total = total + (pinball * seen).sum()
        count = count + seen.sum()
    return total, count


def _folds(labels: np.ndarray, count: int, seed: int) -> np.ndarray:
    """A stratified fold number (0 to ``count`` - 1) for each patient."""
    rng = np.random.default_rng(seed)
    folds = np.empty(len(labels), dtype=np.int64)
    for value in (0, 1):
        index = np.flatnonzero(labels == value)
        rng.shuffle(index)
        folds[index] = np.arange(len(index)) % count
    return folds


def _evaluate(
    model: TrendRiskLSTM,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    labels: torch.Tensor,
    recipe: ForecasterRecipe,
    weights: torch.Tensor | None = None,
    batch: int = 512,
) -> tuple[float, float, np.ndarray, np.ndarray]:
    model.eval()
    risk_sum, trend_sum = 0.0, 0.0
    probabilities, quantiles = [], []
    with torch.no_grad():
        for start in range(0, len(inputs), batch):
            logits, q = model(inputs[start : start + batch])
            r, t = losses(logits, q, targets[start : start + batch], labels[start : start + batch], recipe.horizon,
                          weights=weights, last_share=recipe.risk_last_hour_share)
            size = len(logits)
            risk_sum += float(r) * size
            trend_sum += float(t) * size
            probabilities.append(torch.sigmoid(logits[:, -1, :]))
            quantiles.append(q)
    n = len(inputs)
    return risk_sum / n, trend_sum / n, torch.cat(probabilities).numpy(), torch.cat(quantiles).numpy()


def train_epoch(
    member: TrendRiskLSTM,
    optimiser: torch.optim.Optimizer,
    data: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    order: np.ndarray,
    recipe: ForecasterRecipe,
    generator: torch.Generator,
    cancel: CancelToken = None,
    weights: torch.Tensor | None = None,
    workers: Workers = SINGLE,
    network: torch.nn.Module | None = None,
) -> float:
    """One pass over the patients in ``order``; the trend loss at ``trend_hours_per_batch`` random hours per batch,
    each variable weighted by ``weights``. Returns the sum of the batches' losses.

    With several ``workers``, ``order`` is this worker's share of the epoch, ``network`` the member wrapped in
    ``DistributedDataParallel`` (which averages the gradients), and each worker's batch is its share of
    ``batch_size``; the trend loss is divided by the target weight of the whole global batch, so the averaged
    gradient is that of one process running the global batch.
    """
    inputs, targets, labels = data
    network = network or member
    member.train()
    batch_size = recipe.batch_size // workers.world
    summed = 0.0
    for start in range(0, len(order), batch_size):
        check_cancelled(cancel)
        batch = order[start : start + batch_size]
        steps = torch.randperm(HOURS, generator=generator)[: recipe.trend_hours_per_batch].sort().values
        logits, quantiles = network(inputs[batch], steps)
        if workers.distributed:
            risk = risk_loss(logits, labels[batch], recipe.risk_last_hour_share)
            total, count = trend_loss_terms(quantiles, targets[batch], recipe.horizon, steps, weights)
            (everywhere,) = reduce_sum([float(count)], workers)
            trend = total * workers.world / max(everywhere, 1e-9)
        else:
            risk, trend = losses(logits, quantiles, targets[batch], labels[batch], recipe.horizon, steps, weights,
                                 recipe.risk_last_hour_share)
        optimiser.zero_grad()
        (risk + trend).backward()
        torch.nn.utils.clip_grad_norm_(member.parameters(), 1.0)
        optimiser.step()
        summed += float((risk + trend).detach()) / workers.world
    return summed


def _member_parts(member: TrendRiskLSTM) -> tuple[list[str], dict[str, torch.nn.Module]]:
    """The names of a member's risk networks, and each part kept at its own best epoch (risk networks, trend)."""
    risk_names = [f"risk {k + 1}" for k in range(len(member.risk.models))]
    return risk_names, dict(zip(risk_names, member.risk.models, strict=True)) | {"trend": member.trend}


def _held_outputs(member: TrendRiskLSTM, held: tuple, recipe: ForecasterRecipe,
                  weights: torch.Tensor | None) -> dict[str, np.ndarray]:
    """Each part's output on the held-out fold (a risk network's probabilities at hour 48, the trend's quantiles):
    what it gave when its weights were kept, each part computing alone."""
    risk_names, _ = _member_parts(member)
    _, _, probabilities, quantiles = _evaluate(member, *held, recipe, weights)
    return {name: probabilities[:, k] for k, name in enumerate(risk_names)} | {"trend": quantiles}


def _train_member(
    member: TrendRiskLSTM,
    number: int,
    data: tuple[torch.Tensor, torch.Tensor, torch.Tensor, np.ndarray],
    recipe: ForecasterRecipe,
    progress: ProgressCallback | None,
    cancel: CancelToken,
    history: list[dict],
    resumed: dict | None = None,
    save: Callable[[dict], None] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train member ``number`` on every fold but its own (``number`` modulo the folds), each risk network and the
    trend kept at the epoch where they did best on that fold. ``resumed``: a checkpoint's state of this member to
    continue from; ``save(state)`` is called after every epoch with the member's state for a checkpoint."""
    inputs, targets, labels, folds = data
    fold = number % recipe.folds
    train_index = np.flatnonzero(folds != fold)
    held_index = np.flatnonzero(folds == fold)
    held = (inputs[held_index], targets[held_index], labels[held_index])
    weights = variable_weights(targets[train_index]) if recipe.balance_variables else None
    if resumed is not None and resumed["finished"]:  # trained already: its parts keep their best weights
        risk_names, parts = _member_parts(member)
        for name, state in resumed.get("kept", {}).items():
            parts[name].load_state_dict(state)
        if "global_generator" in resumed:
            torch.set_rng_state(resumed["global_generator"])
        outputs = _held_outputs(member, held, recipe, weights)
        return held_index, np.mean([outputs[name] for name in risk_names], axis=0), outputs["trend"]
    optimiser = torch.optim.AdamW(member.parameters(), lr=recipe.learning_rate, weight_decay=recipe.weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=recipe.epochs)
    generator = torch.Generator().manual_seed(recipe.seed * 1000 + number)
    workers = current()
    network, sampler = None, None
    if workers.grouped:
        network = engine_module("torch.nn.parallel").DistributedDataParallel(member)
        sampler = engine_module("torch.utils.data").DistributedSampler(
            range(len(train_index)), num_replicas=workers.world, rank=workers.rank, shuffle=True,
            seed=recipe.seed * 1000 + number)
    risk_names, parts = _member_parts(member)
    best = dict.fromkeys(parts, math.inf)
    waited = dict.fromkeys(parts, 0)
    kept: dict[str, dict] = {}
    outputs: dict[str, np.ndarray] = {}
    held_labels = held[2].numpy()
    first = 0
    if resumed is not None:
        optimiser.load_state_dict(resumed["optimiser"])
        scheduler.load_state_dict(resumed["scheduler"])
        generator.set_state(resumed["generator"])
        torch.set_rng_state(resumed["global_generator"])
        best, waited, kept = dict(resumed["best"]), dict(resumed["waited"]), dict(resumed["kept"])
        first = resumed["epoch"]
        if kept:
            keeper = copy.deepcopy(member)
            for name, part in _member_parts(keeper)[1].items():
                part.load_state_dict(kept[name])
            outputs = _held_outputs(keeper, held, recipe, weights)
    for epoch in range(first, recipe.epochs):
        if sampler is None:
            order = train_index[torch.randperm(len(train_index), generator=generator).numpy()]
        else:
            sampler.set_epoch(epoch)
            order = train_index[np.fromiter(sampler, dtype=np.int64)]
        summed = train_epoch(member, optimiser, (inputs, targets, labels), order, recipe, generator, cancel, weights,
                             workers, network)
        (summed,) = reduce_sum([summed], workers)
        scheduler.step()
        risk, trend, probabilities, quantiles = _evaluate(member, *held, recipe, weights)
        auroc = roc_auc(held_labels, probabilities.mean(-1))
        batches = math.ceil(len(train_index) / recipe.batch_size)
        history.append({"member": number, "fold": fold, "epoch": epoch + 1, "train_loss": summed / batches,
                        "held_risk_loss": risk, "held_trend_loss": trend, "held_auroc_48h": auroc})
        report(progress, (number + (epoch + 1) / recipe.epochs) / recipe.members,
               f"member {number + 1}/{recipe.members} epoch {epoch + 1}: held-out AUROC {auroc:.3f}, "
               f"trend loss {trend:.3f}")
        scores = {name: (1.0 - roc_auc(held_labels, probabilities[:, k]), probabilities[:, k])
                  for k, name in enumerate(risk_names)} | {"trend": (trend, quantiles)}
        for name, (loss, output) in scores.items():
            if loss < best[name] - 1e-4:
                best[name], waited[name] = loss, 0
                kept[name] = {k: v.detach().clone() for k, v in parts[name].state_dict().items()}
                outputs[name] = output
            else:
                waited[name] += 1
        stopped = min(waited.values()) >= recipe.patience
        if save is not None:
            save({"epoch": epoch + 1, "finished": stopped or epoch + 1 == recipe.epochs,
                  "optimiser": optimiser.state_dict(), "scheduler": scheduler.state_dict(),
                  "generator": generator.get_state(), "global_generator": torch.get_rng_state(), "best": best,
                  "waited": waited, "kept": kept})
        if stopped:
            break
    for name, state in kept.items():
        parts[name].load_state_dict(state)
    return held_index, np.mean([outputs[name] for name in risk_names], axis=0), outputs["trend"]


def interval_scales(quantiles: np.ndarray, targets: np.ndarray, horizon: int, level: float = 0.8) -> np.ndarray:
    """Per forecast variable, the factor on the (p10, p90) spreads that makes the out-of-fold interval cover
    ``level`` of the observed targets (hours 12 onward, every horizon)."""
    scales = np.ones(quantiles.shape[2])
    for variable in range(quantiles.shape[2]):
        scores = []
        for ahead in range(1, horizon + 1):
            target = targets[:, 12 + ahead :, variable]
            q = quantiles[:, 12 : -ahead, variable, ahead - 1, :]
            seen = ~np.isnan(target)
            y, low, mid, high = target[seen], q[..., 0][seen], q[..., 1][seen], q[..., 2][seen]
            above = (y - mid) / np.maximum(high - mid, 1e-6)
            below = (mid - y) / np.maximum(mid - low, 1e-6)
            scores.append(np.maximum(above, below))
        scores = np.concatenate(scores)
        if len(scores) >= 50:
            scales[variable] = float(np.quantile(scores, level))
    return scales


def prepare(
    timelines: list[Timeline], labels: dict[str, int], norm: Normalisation
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Model inputs, trend targets and labels as tensors; every timeline needs a label."""
    missing = [t.patient_id for t in timelines if t.patient_id not in labels]
    if missing:
        raise UnreadableInput(f"no In-hospital_death label for {len(missing)} patients (first: {missing[0]})")
    inputs, values = batch_inputs(timelines, norm, HOURS)
    targets = values[..., forecast_value_columns()]
    y = np.array([labels[t.patient_id] for t in timelines], dtype=np.float32)
    return torch.from_numpy(inputs), torch.from_numpy(targets), torch.from_numpy(y)


def _checkpoint_document(recipe: ForecasterRecipe, labels: torch.Tensor) -> dict:
    """What a checkpoint must have been made with: the recipe and the training patients' outcomes."""
    return {"family": "forecaster", "recipe": recipe.as_dict(), "labels": labels.to(torch.int8).clone()}


def _load_checkpoint(path: Path, recipe: ForecasterRecipe, labels: torch.Tensor) -> dict:
    saved = read_checkpoint(path)
    made = _checkpoint_document(recipe, labels)
    if (not isinstance(saved, dict) or saved.get("family") != "forecaster" or saved.get("recipe") != made["recipe"]
            or not torch.equal(saved.get("labels", torch.zeros(0)), made["labels"])):
        raise ModelError(f"{path}: the checkpoint was made with another recipe or other patients; resume with the "
                         "same data and options, or start afresh without --resume")
    return saved


def train_forecaster(
    timelines: list[Timeline],
    labels: dict[str, int],
    recipe: ForecasterRecipe | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    checkpoint: str | Path | None = None,
    resume: bool = False,
) -> TrainedForecaster:
    """Train the ensemble on ``timelines`` (members cycle through the stratified folds, each held out of its own
    training) and calibrate its intervals on the out-of-fold forecasts. With ``checkpoint``, the run's state is
    written there after every epoch; ``resume`` continues from it (module docstring)."""
    recipe = recipe or ForecasterRecipe()
    torch.manual_seed(recipe.seed)
    norm = Normalisation.fit(timelines)
    report(progress, 0.0, f"binning {len(timelines)} timelines")
    inputs, targets, y = prepare(timelines, labels, norm)
    if len(set(y.tolist())) < 2:
        raise UnreadableInput("training needs patients who died and patients who survived")
    folds = _folds(y.numpy(), recipe.folds, recipe.seed)
    ensemble = build_ensemble(input_size(), carried_columns(), recipe.horizon, recipe.hidden, recipe.members,
                              recipe.risk_models, recipe.dropout)
    history: list[dict] = []
    path = Path(checkpoint) if checkpoint is not None else None
    saved = _load_checkpoint(path, recipe, y) if resume and path is not None else None
    if saved is not None:
        ensemble.load_state_dict(saved["ensemble"])
        history = list(saved["history"])
    workers = current()

    def save(number: int, state: dict) -> None:
        if workers.leader:
            write_checkpoint(path, {**_checkpoint_document(recipe, y), "member": number, **state,
                                    "ensemble": ensemble.state_dict(), "history": history})
        barrier(workers)

    oof_count = np.zeros(len(y))
    oof_risk = np.zeros(len(y))
    oof_quantiles = np.zeros((*targets.shape[:2], len(FORECAST_VARIABLES), recipe.horizon, 3), dtype=np.float32)
    for number, member in enumerate(ensemble.members):
        resumed = None
        if saved is not None and number <= saved["member"]:
            resumed = saved if number == saved["member"] else {"finished": True}
        index, probabilities, quantiles = _train_member(
            member, number, (inputs, targets, y, folds), recipe, progress, cancel, history, resumed,
            None if path is None else (lambda state, number=number: save(number, state)),
        )
        oof_count[index] += 1
        oof_risk[index] += probabilities
        oof_quantiles[index] += quantiles
    held = oof_count > 0
    oof_risk = oof_risk[held] / oof_count[held]
    oof_quantiles = oof_quantiles[held] / oof_count[held].reshape(-1, 1, 1, 1, 1)
    scales = interval_scales(oof_quantiles, targets.numpy()[held], recipe.horizon)
    ensemble.eval()
    report(progress, 1.0, "trained")
    return TrainedForecaster(
        state_dict={k: v.detach().clone() for k, v in ensemble.state_dict().items()},
        recipe=recipe,
        normalisation=norm,
        interval_scale=dict(zip(FORECAST_VARIABLES, map(float, scales), strict=True)),
        history=history,
        out_of_fold={"mortality_auroc_48h": roc_auc(y.numpy()[held], oof_risk), "patients": int(held.sum())},
    )

