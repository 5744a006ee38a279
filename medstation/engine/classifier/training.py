"""Train a classifier into a complete model bundle (weights, metadata with metrics, model card).

The defaults of :class:`TrainingRecipe` are the recipe of the shipped ``pneumonia-cxr-resnet18`` model: a
ResNet-18 with the 3x3 stem for 28x28 images, AdamW with a one-cycle learning-rate schedule over a budget of
optimiser steps, label smoothing, batch augmentation (:mod:`medstation.engine.classifier.augment`) and an
exponential moving average (EMA) of the weights. The EMA network is scored on the validation split after every
epoch (or every budget / 20 steps when epochs are shorter); the scoring with the best validation AUC is kept and
training stops early when it has not improved for ``patience`` scorings once the learning rate has fallen below half
its peak (before that, in the schedule's high-rate phase, the validation AUC often stalls and then rises again as
the rate anneals). When the budget runs out while the last
scoring is the best, :attr:`TrainingOutcome.still_improving` says so and the command warns. The kept weights are
rounded to half precision, as the bundle stores them, before the calibration temperature and the decision
(:mod:`medstation.engine.classifier.decision`) are fitted on the validation split, so every figure in the bundle
describes the weights it ships. The test split, when present, is only measured for the model card; it never
steers training.

Under torchrun (``--nproc-per-node``, :mod:`medstation.engine.runtime.distributed`) the network is wrapped in
``DistributedDataParallel`` and each worker holds ``batch_size / workers`` images of every global batch: a
``DistributedSampler`` seeded by the recipe deals each epoch's shuffled images out (``set_epoch`` every epoch), the
augmentation is drawn for the whole global batch from a generator every worker keeps in step (each applies its own
images' transforms), and batch normalisation uses the statistics of the global batch
(:mod:`medstation.engine.runtime.batch_norm`), so one optimiser step of N workers is the step of one process running
the global batch, and ``steps`` counts global optimiser steps whatever the number of workers. Validation is
reduced across workers: each scores its share of the validation split with the average network (the same on every
worker) and the logits are gathered, so every worker computes the same AUC and stops at the same step. Rank 0 alone
fits the calibration and decision, measures the test split and writes the bundle (atomically); the others wait for
it. A run without torchrun shuffles with its own generator, as the shipped model was trained.

Given a checkpoint file, the run is checkpointed after every validation scoring
(:mod:`medstation.engine.classifier.checkpoints`) and ``resume`` continues from it, under torchrun on any number of
workers.
"""

from __future__ import annotations

import copy
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from medstation.engine.averaging import update_average
from medstation.engine.bundles import Bundle, InputSpec, IntensitySpec, write_model_bundle
from medstation.engine.calibration import apply_temperature, fit_temperature
from medstation.engine.classifier.augment import augment_batch
from medstation.engine.classifier.card import classifier_card, classifier_metadata
from medstation.engine.classifier.checkpoints import load_training_checkpoint, save_training_checkpoint
from medstation.engine.classifier.data import LabelledImages
from medstation.engine.classifier.decision import fit_decision, parse_combination
from medstation.engine.classifier.evaluation import metadata_metrics, summarise
from medstation.engine.classifier.inputs import normalise_intensity, resize_batch
from medstation.engine.classifier.network import (
    build_network,
    check_network_input,
    default_network_spec,
    network_logits,
    prepare_network,
)
from medstation.engine.classifier.recipe import TrainingRecipe
from medstation.engine.metrics import roc_auc
from medstation.engine.runtime import (
    SINGLE,
    Workers,
    barrier,
    batch_norm_across_workers,
    configure_threads,
    current,
    data_parallel,
    engine_module,
    gather,
    load_optimisers,
    select_device,
    share,
)
from medstation.errors import ModelError
from medstation.progress import CancelToken, ProgressCallback, check_cancelled, report

torch = load_optimisers()
nn = torch.nn

VALIDATIONS_PER_BUDGET = 20
"""At most this many validation scorings per budget (more when an epoch is longer than budget / 20 steps)."""


@dataclass
class TrainingOutcome:
    """What training found: the optimiser step kept, the steps run of the budget, why training stopped
    (``budget`` or ``early``), the validation AUC at each scoring as ``[step, auc]``, the seconds taken, and whether
    the validation AUC was still rising when the budget ran out."""

    best_step: int
    steps_run: int
    budget: int
    stopped: str
    validation_auc: list[list[float]]
    seconds: float

    @property
    def still_improving(self) -> bool:
        """The budget ran out while the last scoring was the best: a larger budget would likely do better."""
        return self.stopped == "budget" and bool(self.validation_auc) and self.best_step == self.validation_auc[-1][0]


def validation_interval(steps: int, steps_per_epoch: int) -> int:
    """Optimiser steps between validation scorings: one epoch, or ``steps / 20`` when epochs are shorter."""
    return max(1, min(steps, max(steps_per_epoch, math.ceil(steps / VALIDATIONS_PER_BUDGET))))


def _input_spec(data: LabelledImages, recipe: TrainingRecipe) -> InputSpec:
    size = tuple(recipe.spatial_size or data.spatial_size)
    if len(size) != data.spatial_dims:
        raise ModelError(f"a size of {len(size)} numbers was given for {data.spatial_dims}-D images")
    return InputSpec(
        spatial_dims=data.spatial_dims,
        spatial_size=size,
        channels=data.channels,
        intensity=_intensity(data, recipe.intensity),
        modalities=tuple(code.upper() for code in recipe.modalities),
    )


def _intensity(data: LabelledImages, method: str) -> IntensitySpec:
    """The normalisation ``method`` with its parameters measured on the training split: ``range`` maps the
    split's lowest and highest voxel values to 0 and 1, ``zscore`` uses its mean and standard deviation."""
    images = data.split("train").images
    if method == "range":
        low, high = float(images.min()), float(images.max())
        return IntensitySpec(method, {"a_min": low, "a_max": high if high > low else low + 1.0})
    if method == "zscore":
        std = float(images.std(dtype=np.float64))
        return IntensitySpec(method, {"mean": float(images.mean(dtype=np.float64)), "std": std if std > 0 else 1.0})
    return IntensitySpec(method, {})


def _network_input(images: np.ndarray, spec: InputSpec) -> np.ndarray:
    """A whole split prepared as the classifier prepares images at inference (resize, then intensity)."""
    return normalise_intensity(resize_batch(images.astype(np.float32), spec.spatial_size), spec.intensity)


def _val_auc(labels: np.ndarray, probabilities: np.ndarray) -> float:
    if probabilities.shape[1] == 2:
        return roc_auc(labels, probabilities[:, 1])
    aucs = [roc_auc((labels == c).astype(int), probabilities[:, c]) for c in range(probabilities.shape[1])]
    return float(np.nanmean(aucs)) if not all(math.isnan(a) for a in aucs) else math.nan


def _check_data(data: LabelledImages) -> None:
    for name in ("train", "val"):
        split = data.split(name)
        present = np.unique(split.labels)
        if present.size < 2:
            raise ModelError(f"{data.source}: the {name} split holds only class {data.label_names[present[0]]}; "
                             "training and model selection need every class")


def fit_network(
    data: LabelledImages,
    spec: InputSpec,
    network_spec: dict[str, Any],
    recipe: TrainingRecipe,
    device: str = "cpu",
    progress: ProgressCallback | None = None,
    cancel: CancelToken = None,
    workers: Workers = SINGLE,
    checkpoint: Path | None = None,
    resume: bool = False,
) -> tuple[nn.Module, TrainingOutcome]:
    """Train on ``train``, select on ``val``; returns the kept network (evaluation mode, on ``device``) and the
    outcome. ``workers``: this process's place among torchrun's workers (see the module docstring);
    ``checkpoint``: the file written after every validation scoring, ``resume`` continuing from it."""
    if resume and checkpoint is None:
        raise ModelError("resuming needs the checkpoint file to resume from")
    if recipe.batch_size % workers.world:
        raise ModelError(f"the batch of {recipe.batch_size} images cannot be shared equally by {workers.world} "
                         "workers; choose a number of workers that divides it")
    torch.manual_seed(recipe.seed)
    generator = torch.Generator().manual_seed(recipe.seed)
    order = np.random.default_rng(recipe.seed)
    train, val = data.split("train"), data.split("val")
    train_images = torch.from_numpy(_network_input(train.images, spec))
    train_labels = torch.from_numpy(train.labels)
    val_images = _network_input(val.images, spec)
    layout = torch.channels_last if spec.spatial_dims == 2 else torch.channels_last_3d
    network = prepare_network(
        build_network(network_spec, spec.spatial_dims, spec.channels, len(data.label_names)), spec.spatial_dims, device
    )
    average = copy.deepcopy(network)
    total = max(1, recipe.steps)
    optimiser = torch.optim.AdamW(network.parameters(), lr=recipe.learning_rate, weight_decay=recipe.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=recipe.learning_rate, total_steps=total, pct_start=recipe.warmup
    )
    history, elapsed, first = [], 0.0, 1
    best_auc, best_step, best_state, since_best = -math.inf, 0, None, 0
    permutation, stopped = None, "budget"
    if resume:
        saved = load_training_checkpoint(checkpoint, recipe, data.label_names)
        for part, name in ((network, "network"), (average, "average"), (optimiser, "optimiser"),
                           (schedule, "schedule")):
            part.load_state_dict(saved[name])
        generator.set_state(saved["augmentation"])
        order.bit_generator.state = json.loads(saved["order"])
        permutation, history, elapsed, first = saved["permutation"], saved["history"], saved["seconds"], saved[
            "step"] + 1
        best_auc, best_step, best_state, since_best = (saved["best_auc"], saved["best_step"], saved["best"],
                                                       saved["since_best"])
    trained, sampler, batch_size = network, None, recipe.batch_size // workers.world
    if workers.grouped:
        network = batch_norm_across_workers(network, workers)
        trained = data_parallel(network, workers)
        sampler = engine_module("torch.utils.data").DistributedSampler(
            range(len(train)), num_replicas=workers.world, rank=workers.rank, shuffle=True, seed=recipe.seed)
    batches = math.ceil((len(train) if sampler is None else len(sampler)) / batch_size)
    val_part = share(len(val_images), workers)
    interval = validation_interval(total, batches)
    loss_function = torch.nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing)
    started = time.monotonic()
    for step in range(first, total + 1):
        check_cancelled(cancel)
        position = (step - 1) % batches
        if sampler is None and (position == 0 or permutation is None):
            permutation = torch.from_numpy(order.permutation(len(train)))
        elif sampler is not None and (position == 0 or step == first):
            sampler.set_epoch((step - 1) // batches)
            permutation = torch.tensor(list(sampler), dtype=torch.long)
        network.train()
        picked = permutation[position * batch_size : (position + 1) * batch_size]
        if sampler is None:
            images = augment_batch(train_images[picked], recipe.augmentation, generator)
        else:  # this worker's images are the global batch's places rank, rank + world, ...
            images = augment_batch(train_images[picked], recipe.augmentation, generator, len(picked) * workers.world,
                                   slice(workers.rank, None, workers.world))
        images = images.to(device)
        loss = loss_function(trained(images.contiguous(memory_format=layout)), train_labels[picked].to(device))
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        schedule.step()
        update_average(average, network, recipe.ema_decay)
        report(progress, 0.95 * step / total, f"step {step}/{total} (epoch {(step - 1) // batches + 1}) "
                                              f"loss {loss.item():.3f}")
        if step % interval and step != total:
            continue
        average.eval()
        logits = network_logits(average, val_images[val_part], spec.spatial_dims, device)
        probabilities = apply_temperature(gather(logits, len(val_images), workers), 1.0)
        auc = _val_auc(val.labels, probabilities)
        history.append([step, auc])
        report(progress, 0.95 * step / total, f"step {step}/{total}: validation AUC {auc:.4f}")
        if auc > best_auc:
            best_auc, best_step, since_best = auc, step, 0
            best_state = {key: value.detach().clone() for key, value in average.state_dict().items()}
        elif optimiser.param_groups[0]["lr"] < recipe.learning_rate / 2:
            since_best += 1
            if since_best >= recipe.patience:
                stopped = "early"
                break
        if checkpoint is not None and step != total:
            if workers.leader:
                save_training_checkpoint(checkpoint, {
                    "recipe": recipe.as_dict(), "labels": list(data.label_names), "step": step,
                    "seconds": elapsed + time.monotonic() - started, "network": network.state_dict(),
                    "average": average.state_dict(), "optimiser": optimiser.state_dict(),
                    "schedule": schedule.state_dict(), "augmentation": generator.get_state(),
                    "order": json.dumps(order.bit_generator.state),
                    "permutation": permutation if sampler is None else None, "history": history,
                    "best_auc": best_auc, "best_step": best_step, "best": best_state, "since_best": since_best})
            barrier(workers)
    average.load_state_dict(best_state)
    outcome = TrainingOutcome(best_step, history[-1][0], total, stopped, history,
                              elapsed + time.monotonic() - started)
    return average.eval(), outcome


def _half_precision(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Floating-point tensors stored as float16 (half the file); loading casts them back to float32."""
    return {key: value.half() if value.is_floating_point() else value for key, value in state_dict.items()}


def train_classifier(
    data: LabelledImages,
    out: Path | str,
    recipe: TrainingRecipe | None = None,
    command: str = "",
    overwrite: bool = False,
    data_description: dict[str, str | None] | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken = None,
    checkpoint: Path | str | None = None,
    resume: bool = False,
) -> Bundle | None:
    """Train on ``data`` and write a complete classification bundle to ``out``; returns the bundle (None in a
    torchrun worker other than rank 0, which returns once rank 0 has written it).

    Parameters
    ----------
    data
        Labelled images with ``train`` and ``val`` splits (``test`` optional, measured for the card only).
    out
        Bundle folder to create.
    recipe
        Network and optimisation settings; default :class:`TrainingRecipe` (the shipped model's recipe).
    command
        The command line that ran this training, recorded in the metadata and the model card.
    overwrite
        Replace an existing bundle at ``out``.
    data_description
        ``name``, ``licence`` and ``citation`` of the data for the model card.
    progress, cancel
        Progress callback and cancel token, checked between batches.
    checkpoint, resume
        File written after every validation scoring (None: no checkpoints), and whether to continue from it.
    """
    recipe = recipe or TrainingRecipe()
    workers = current()
    if workers.grouped:
        device = workers.device  # torchrun set each worker's threads
    else:
        device = select_device()
        configure_threads()
    _check_data(data)
    spec = _input_spec(data, recipe)
    combination = parse_combination(recipe.combine, data.label_names)
    network_spec = default_network_spec(recipe.architecture, recipe.widths, recipe.stem)
    check_network_input(network_spec, spec.spatial_size)
    network, outcome = fit_network(data, spec, network_spec, recipe, device, progress, cancel, workers,
                                   Path(checkpoint) if checkpoint else None, resume)
    if not workers.leader:
        barrier(workers)
        return None
    weights = _half_precision(network.state_dict())
    network.load_state_dict(weights)
    report(progress, 0.96, "fitting calibration and threshold on the validation split")
    val = data.split("val")
    val_logits = network_logits(network, _network_input(val.images, spec), spec.spatial_dims, device)
    temperature = fit_temperature(val_logits, val.labels)
    val_probabilities = apply_temperature(val_logits, temperature)
    decision = fit_decision(val.labels, val_probabilities, data.label_names, combination)
    summaries = {"val": summarise(val.labels, val_probabilities, data.label_names, decision, seed=recipe.seed)}
    if "test" in data.splits:
        report(progress, 0.98, "measuring the test split for the model card")
        test = data.split("test")
        test_logits = network_logits(network, _network_input(test.images, spec), spec.spatial_dims, device)
        test_probabilities = apply_temperature(test_logits, temperature)
        summaries["test"] = summarise(test.labels, test_probabilities, data.label_names, decision, seed=recipe.seed)
    metadata = classifier_metadata(
        data, spec, network_spec, recipe, outcome, temperature, decision,
        {split: metadata_metrics(summary) for split, summary in summaries.items()},
        {split: summary.get("tasks", {}).get("multiclass", summary)["metrics"]["confusion_matrix"]
         for split, summary in summaries.items()},
        command,
        data_description,
    )
    bundle = write_model_bundle(out, metadata, weights, classifier_card, overwrite)
    report(progress, 1.0, f"wrote {bundle.root}")
    barrier(workers)
    return bundle
