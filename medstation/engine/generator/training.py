"""Train the class-conditional GAN of :mod:`medstation.engine.generator.network`, with checkpoints to resume from.

The recipe is the stable one of the SN-GAN / projection-discriminator line: hinge loss, spectral normalisation in
the discriminator, Adam with ``beta1 = 0`` and an exponential moving average (EMA) of the generator's weights,
which is what ships and what samples; the average's decay warms up from 0.1 to its cap, so a short run's
average is not dominated by the random initial weights. Each batch's fake images are asked for in the real batch's
classes, so the generator learns the training class mix. All randomness comes from one seeded ``torch.Generator``
whose state is checkpointed with the networks and optimisers after every epoch: a resumed run continues exactly
where the checkpoint left off and ends with the same weights as an uninterrupted one.

Under torchrun (``--nproc-per-node``, :mod:`medstation.engine.runtime.distributed`) the generator and the
discriminator are each wrapped in ``DistributedDataParallel`` and every worker holds ``batch_size / workers`` images
of each global batch: a ``DistributedSampler`` seeded by the recipe deals each epoch's shuffled images out
(``set_epoch`` with the epoch), and the latent vectors are drawn for the whole global batch from the run's
generator, which every worker keeps in step, each worker taking its own images' rows. The generator's batch
normalisation uses the statistics of the global batch (:mod:`medstation.engine.runtime.batch_norm`) rather than each
worker's part: a class-conditional generator normalising 32 images of a 64-image batch would compute another
function at every worker count (and a worker may hold few images of a class), so a seed would not give one model,
and the recipe's batch size would stop saying what the statistics are over; the cost is one small all-reduce per
normalisation layer and pass. One optimiser step of N workers is then that of one process running the global
batch, up to rounding. The discriminator has no batch normalisation (spectral normalisation only). The average
(EMA) is updated on every worker from the same synchronised weights, so rank 0's, which it checkpoints and ships,
is every worker's. Rank 0 writes the checkpoint after every epoch (atomically) while the others wait, and the
bundle; the checkpoint holds the plain networks and the run's generator, so a run resumes on any number of
workers: the sampler's order depends only on the seed and the epoch.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from medstation.engine.averaging import average_decay, update_average
from medstation.engine.bundles import Bundle, IntensitySpec, write_model_bundle
from medstation.engine.classifier import LabelledImages, normalise_intensity, resize_batch
from medstation.engine.generator.card import generator_card, generator_metadata
from medstation.engine.generator.confidence import load_feature_network
from medstation.engine.generator.evaluation import evaluate_generator
from medstation.engine.generator.model import generator_from_bundle
from medstation.engine.generator.network import (
    ConditionalGenerator,
    ProjectionDiscriminator,
    build_discriminator,
    build_generator,
)
from medstation.engine.generator.recipe import GeneratorRecipe
from medstation.engine.runtime import (
    SINGLE,
    Workers,
    barrier,
    batch_norm_across_workers,
    configure_threads,
    current,
    data_parallel,
    engine_module,
    load_optimisers,
    read_checkpoint,
    select_device,
    write_checkpoint,
)
from medstation.errors import ModelError
from medstation.progress import CancelToken, ProgressCallback, check_cancelled, report

torch = load_optimisers()


@dataclass
class TrainingImages:
    """Training images scaled to [0, 1] ``(N, 1, H, W)`` float32, class indices ``(N,)`` and how they were scaled."""

    images: np.ndarray
    classes: np.ndarray
    intensity: IntensitySpec

    @property
    def image_size(self) -> tuple[int, int]:
        return int(self.images.shape[2]), int(self.images.shape[3])


def prepare_training_images(images: np.ndarray, classes: np.ndarray, size: tuple[int, int] | None,
                            source: str) -> TrainingImages:
    """Grey images ``(N, 1, H, W)`` as stored, resized to ``size`` and mapped to [0, 1] by their own range."""
    if images.ndim != 4 or images.shape[1] != 1:
        raise ModelError(f"{source}: the generator trains on grey 2-D images, got an array of shape {images.shape}")
    if len(images) == 0:
        raise ModelError(f"{source}: the train split holds no images")
    low, high = float(images.min()), float(images.max())
    intensity = IntensitySpec("range", {"a_min": low, "a_max": high if high > low else low + 1.0})
    resized = resize_batch(images.astype(np.float32), size) if size else images.astype(np.float32)
    return TrainingImages(normalise_intensity(resized, intensity), classes.astype(np.int64), intensity)


@dataclass
class GanState:
    """The networks, optimisers and random state of a training run, and the epochs done."""

    generator: ConditionalGenerator
    discriminator: ProjectionDiscriminator
    average: ConditionalGenerator
    optimiser_generator: torch.optim.Adam
    optimiser_discriminator: torch.optim.Adam
    random: torch.Generator
    epoch: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0

    def as_checkpoint(self, recipe: GeneratorRecipe, labels: list[str]) -> dict[str, Any]:
        return {
            "recipe": recipe.as_dict(),
            "labels": list(labels),
            "epoch": self.epoch,
            "seconds": self.seconds,
            "cpu_seconds": self.cpu_seconds,
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "average": self.average.state_dict(),
            "optimiser_generator": self.optimiser_generator.state_dict(),
            "optimiser_discriminator": self.optimiser_discriminator.state_dict(),
            "random": self.random.get_state(),
        }


def new_state(recipe: GeneratorRecipe, image_size: tuple[int, int], n_classes: int, device: str = "cpu") -> GanState:
    """Freshly initialised networks (on ``device``) and optimisers, seeded by the recipe."""
    torch.manual_seed(recipe.seed)
    spec = recipe.network_spec()
    generator = build_generator(spec, image_size, n_classes).to(device)
    discriminator = build_discriminator(spec, image_size, n_classes).to(device)
    average = copy.deepcopy(generator).eval()
    for parameter in average.parameters():
        parameter.requires_grad_(False)
    return GanState(
        generator,
        discriminator,
        average,
        torch.optim.Adam(generator.parameters(), lr=recipe.learning_rate_generator, betas=recipe.betas),
        torch.optim.Adam(discriminator.parameters(), lr=recipe.learning_rate_discriminator, betas=recipe.betas),
        torch.Generator().manual_seed(recipe.seed),
    )


def save_checkpoint(state: GanState, recipe: GeneratorRecipe, labels: list[str], path: Path) -> None:
    """Write the checkpoint atomically (a temporary file beside ``path``, then renamed over it)."""
    write_checkpoint(path, state.as_checkpoint(recipe, labels))


def _same_run(saved: Any, recipe: GeneratorRecipe) -> bool:
    """Whether a checkpoint's recipe is ``recipe`` up to the number of epochs, which a resumed run may extend."""
    wanted = {key: value for key, value in recipe.as_dict().items() if key != "epochs"}
    return isinstance(saved, dict) and {key: value for key, value in saved.items() if key != "epochs"} == wanted


def load_checkpoint(path: Path, recipe: GeneratorRecipe, labels: list[str], image_size: tuple[int, int],
                    device: str = "cpu") -> GanState:
    """The state saved in ``path`` (loaded with ``weights_only=True``), after checking it is this run's."""
    saved = read_checkpoint(path)
    if not isinstance(saved, dict) or not _same_run(saved.get("recipe"), recipe) or saved.get("labels") != list(labels):
        raise ModelError(
            f"{path}: the checkpoint was made with another recipe or other labels; resume with the same options, "
            "or start afresh without --resume"
        )
    state = new_state(recipe, image_size, len(labels), device)
    for name in ("generator", "discriminator", "average", "optimiser_generator", "optimiser_discriminator"):
        getattr(state, name).load_state_dict(saved[name])
    state.random.set_state(saved["random"])
    state.epoch, state.seconds, state.cpu_seconds = int(saved["epoch"]), float(saved["seconds"]), float(
        saved["cpu_seconds"])
    return state


def _latents(state: GanState, count: int, latent_dim: int, device: str | torch.device,
             workers: Workers = SINGLE) -> torch.Tensor:
    """Latent vectors drawn on the CPU from the run's generator (the same on every device), moved to ``device``.
    A worker holding ``count`` images of a global batch draws the global batch's and keeps its rows (rank, rank +
    world, ..., as the sampler dealt the images)."""
    drawn = torch.randn(count * workers.world, latent_dim, generator=state.random)
    return drawn[workers.rank :: workers.world].to(device)


@dataclass
class _Parallel:
    """The networks a training step runs: ``DistributedDataParallel`` wrappers under torchrun, else the networks."""

    generator: Any
    discriminator: Any
    workers: Workers = SINGLE


def _discriminator_step(state: GanState, real: torch.Tensor, classes: torch.Tensor, latent_dim: int,
                        parallel: _Parallel) -> torch.Tensor:
    with torch.no_grad():  # no gradient to average: the network itself, not its wrapper
        fake = state.generator(_latents(state, len(real), latent_dim, real.device, parallel.workers), classes)
    both = parallel.discriminator(torch.cat([real, fake]), torch.cat([classes, classes]))
    real_score, fake_score = both[: len(real)], both[len(real) :]
    loss = torch.relu(1.0 - real_score).mean() + torch.relu(1.0 + fake_score).mean()
    state.optimiser_discriminator.zero_grad(set_to_none=True)
    loss.backward()
    state.optimiser_discriminator.step()
    return loss


def _generator_step(state: GanState, classes: torch.Tensor, latent_dim: int, parallel: _Parallel) -> torch.Tensor:
    fake = parallel.generator(_latents(state, len(classes), latent_dim, classes.device, parallel.workers), classes)
    # the discriminator itself: its gradients here are not used, so not averaged across workers
    loss = -state.discriminator(fake, classes).mean()
    state.optimiser_generator.zero_grad(set_to_none=True)
    loss.backward()
    state.optimiser_generator.step()
    return loss


def fit_gan(
    data: TrainingImages,
    labels: list[str],
    recipe: GeneratorRecipe,
    checkpoint: Path | None = None,
    resume: bool = False,
    device: str = "cpu",
    progress: ProgressCallback | None = None,
    cancel: CancelToken = None,
    workers: Workers = SINGLE,
) -> GanState:
    """Train for ``recipe.epochs`` epochs (resuming from ``checkpoint`` when asked); returns the final state.

    The checkpoint, when given, is written after every epoch (by rank 0 under torchrun, the other ``workers``
    waiting); a cancelled run keeps the last one.
    """
    if recipe.batch_size % workers.world:
        raise ModelError(f"the batch of {recipe.batch_size} images cannot be shared equally by {workers.world} "
                         "workers; choose a number of workers that divides it")
    if len(data.images) < recipe.batch_size:
        raise ModelError(f"the train split holds {len(data.images)} images, fewer than one batch of "
                         f"{recipe.batch_size}; lower --batch-size")
    if resume and checkpoint is None:
        raise ModelError("resuming needs the checkpoint file to resume from")
    if resume:
        state = load_checkpoint(checkpoint, recipe, labels, data.image_size, device)
    else:
        state = new_state(recipe, data.image_size, len(labels), device)
    images = torch.from_numpy(data.images * 2.0 - 1.0)
    classes = torch.from_numpy(data.classes)
    batches = len(images) // recipe.batch_size
    batch_size = recipe.batch_size // workers.world
    parallel, sampler = _Parallel(state.generator, state.discriminator), None
    if workers.grouped:
        state.generator = batch_norm_across_workers(state.generator, workers)
        parallel = _Parallel(data_parallel(state.generator, workers), data_parallel(state.discriminator, workers),
                             workers)
        sampler = engine_module("torch.utils.data").DistributedSampler(
            range(len(images)), num_replicas=workers.world, rank=workers.rank, shuffle=True, seed=recipe.seed)
    state.generator.train()
    state.discriminator.train()
    while state.epoch < recipe.epochs:
        started, cpu_started = time.monotonic(), time.process_time()
        if sampler is None:
            order = torch.randperm(len(images), generator=state.random)
        else:
            sampler.set_epoch(state.epoch)
            order = torch.tensor(list(sampler), dtype=torch.long)
        for batch in range(batches):
            check_cancelled(cancel)
            picked = order[batch * batch_size : (batch + 1) * batch_size]
            real, wanted = images[picked].to(device), classes[picked].to(device)
            d_loss = _discriminator_step(state, real, wanted, recipe.latent_dim, parallel)
            g_loss = _generator_step(state, wanted, recipe.latent_dim, parallel)
            step = state.epoch * batches + batch
            update_average(state.average, state.generator, average_decay(recipe.ema_decay, step))
            done = (state.epoch + (batch + 1) / batches) / recipe.epochs
            report(progress, done, f"epoch {state.epoch + 1}/{recipe.epochs} D {d_loss.item():.3f} "
                                   f"G {g_loss.item():.3f}")
        state.epoch += 1
        state.seconds += time.monotonic() - started
        state.cpu_seconds += time.process_time() - cpu_started
        if checkpoint is not None and workers.leader:
            save_checkpoint(state, recipe, labels, checkpoint)
        barrier(workers)
    state.average.eval()
    return state


def _class_counts(classes: np.ndarray, labels: list[str]) -> dict[str, int]:
    return {label: int((classes == index).sum()) for index, label in enumerate(labels)}


def train_generator(
    data: LabelledImages,
    out: Path | str,
    recipe: GeneratorRecipe | None = None,
    checkpoint: Path | str | None = None,
    resume: bool = False,
    command: str = "",
    overwrite: bool = False,
    data_description: dict[str, str | None] | None = None,
    feature_classifier: str | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken = None,
) -> Bundle | None:
    """Train on ``data``'s train split and write a complete generation bundle to ``out``; returns the bundle (None in
    a torchrun worker other than rank 0, which returns once rank 0 has written it and measured the test split).

    Parameters
    ----------
    data
        Labelled grey 2-D images with a ``train`` split; a ``test`` split, when present, is measured for the card
        with ``feature_classifier`` (a classifier bundle name or folder; None skips the measurement).
    out
        Bundle folder to create (replaced only with ``overwrite``).
    recipe
        Network and optimisation settings; default :class:`GeneratorRecipe` (the shipped model's recipe).
    checkpoint, resume
        File written after every epoch, and whether to continue from it.
    command
        The command line that ran this training, recorded in the metadata and the model card.
    data_description
        ``name``, ``licence`` and ``citation`` of the data for the model card.
    progress, cancel
        Progress callback and cancel token, checked between batches.
    """
    recipe = recipe or GeneratorRecipe()
    out = Path(out)
    if out.exists() and not overwrite:
        raise ModelError(f"{out}: already exists; choose another output folder or allow overwriting a bundle")
    workers = current()
    if workers.grouped:  # torchrun set each worker's threads
        device, threads = workers.device, torch.get_num_threads()
    else:
        device, threads = select_device(), configure_threads()
    labels = list(data.label_names)
    train = data.split("train")
    images = prepare_training_images(train.images, train.labels, recipe.spatial_size, str(data.source))
    state = fit_gan(images, labels, recipe, Path(checkpoint) if checkpoint else None, resume, device,
                    lambda f, m: report(progress, 0.9 * f, m), cancel, workers)
    if not workers.leader:
        barrier(workers)
        return None
    weights = {key: value.detach().cpu().clone() for key, value in state.average.state_dict().items()}
    training = {"command": command, "epochs_run": state.epoch, "seconds": state.seconds,
                "cpu_seconds": state.cpu_seconds, "device": device,
                "threads": threads, "steps": state.epoch * (len(images.images) // recipe.batch_size)}
    description = {"source": Path(data.source).name, **(data_description or {})}
    splits = {name: len(split) for name, split in data.splits.items()}
    counts = _class_counts(images.classes, labels)
    metadata = generator_metadata(labels, counts, images.intensity, images.image_size, recipe, training, splits,
                                  None, description)
    bundle = write_model_bundle(out, metadata, weights, generator_card, overwrite)
    if feature_classifier is None or "test" not in data.splits:
        barrier(workers)
        return bundle
    report(progress, 0.9, "measuring the test split for the model card")
    evaluation = evaluate_generator(generator_from_bundle(bundle, "cpu"), data, load_feature_network(
        feature_classifier), "test", recipe.seed, lambda f, m: report(progress, 0.9 + 0.1 * f, m), cancel)
    metadata = generator_metadata(labels, counts, images.intensity, images.image_size, recipe, training, splits,
                                  evaluation, description)
    bundle = write_model_bundle(out, metadata, weights, generator_card, overwrite=True)
    report(progress, 1.0, f"wrote {bundle.root}")
    barrier(workers)
    return bundle
