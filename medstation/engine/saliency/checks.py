"""How far to trust a saliency map: a faithfulness score and the model-randomisation sanity check.

Faithfulness is the deletion curve (Petsiuk et al. 2018, "RISE"): pixels are replaced by a blurred copy of the
image, most salient first, and the probability of the explained class is followed as more of the image goes; a
faithful map makes it fall fast, so the area under the curve is small. The same area for random maps is the
level a map must beat. Blurring removes local detail without painting in a new intensity: a mean-grey fill
makes dark lung fields look opaque to a pneumonia model, and it is the very perturbation occlusion, LIME and
SHAP are fitted with, which would favour them.

The sanity check (Adebayo et al. 2018, "Sanity checks for saliency maps") re-initialises every weight of the
model and explains the same image again: a map that still looks the same describes the image, not the model.
Similarity is the Spearman rank correlation between the two maps.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from medstation.engine.runtime import engine_module, load_torch
from medstation.engine.saliency.maps import SaliencyMap
from medstation.engine.saliency.methods import evaluating, explain, network_input
from medstation.progress import CancelToken, ProgressCallback, check_cancelled, report

torch = load_torch()
nn = engine_module("torch.nn")

DELETION_STEPS = 20
RANDOM_ORDERS = 5
RANDOM_CELLS = 7


@dataclass(frozen=True)
class Faithfulness:
    """Deletion-curve areas of a map and of random pixel orders.

    Attributes
    ----------
    deletion_auc
        Area under the class probability as the most salient pixels are removed first, over the removed
        fraction 0 to 1; lower is more faithful.
    random_auc, random_auc_std
        Mean and standard deviation of the same area for random maps (see :func:`random_map`).
    relative
        ``(random_auc - deletion_auc) / random_auc``: 1 when the probability collapses at once, 0 when the map does
        no better than chance, negative when it does worse.
    fractions, probabilities
        The map's deletion curve: removed fraction of the pixels and class probability at each step.
    """

    deletion_auc: float
    random_auc: float
    random_auc_std: float
    relative: float
    fractions: np.ndarray
    probabilities: np.ndarray


def _removal_order(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Flat pixel indices, highest value first; ties in random order."""
    flat = values.ravel()
    return np.lexsort((rng.random(flat.size), -flat))


def _blur_matrix(size: int, sigma: float) -> np.ndarray:
    """Gaussian weights ``[size, size]`` along one axis, each row renormalised to sum 1 (no wrap at the borders)."""
    offsets = np.arange(size, dtype=np.float32)
    weights = np.exp(-0.5 * ((offsets[:, None] - offsets[None, :]) / sigma) ** 2)
    return weights / weights.sum(axis=1, keepdims=True)


def blurred(channels: np.ndarray) -> np.ndarray:
    """Each channel ``[C, j, i]`` smoothed by a Gaussian of sigma a tenth of the shorter side.

    Done as two matrix products, which stays fast for a full-size radiograph.
    """
    sigma = max(1.0, min(channels.shape[-2:]) / 10)
    rows, columns = (_blur_matrix(n, sigma) for n in channels.shape[-2:])
    return np.stack([rows @ channel @ columns.T for channel in channels.astype(np.float32)])


def random_map(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Uniform noise on a grid of about 7 x 7 cells, bilinearly resampled to ``shape`` ``[j, i]``.

    Its blobs are the size of the regions a saliency method marks (the occlusion window, a Grad-CAM cell), so the
    reference removes connected patches as a real map does: scattered single pixels would hurt a CNN differently.
    """
    cells = [max(2, round(n / max(1, round(min(shape) / RANDOM_CELLS)))) for n in shape]
    noise = torch.from_numpy(rng.random(cells).astype(np.float32))[None, None]
    smooth = nn.functional.interpolate(noise, size=tuple(shape), mode="bilinear", align_corners=False)
    return smooth[0, 0].numpy()


def deletion_curve(
    model: nn.Module,
    image: np.ndarray | torch.Tensor,
    values: np.ndarray,
    target: int,
    input_size: Sequence[int] | None = None,
    steps: int = DELETION_STEPS,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Class probability as pixels are replaced by the blurred image in the order of ``values``, highest first.

    Parameters
    ----------
    model
        The classifier.
    image
        ``[j, i]`` or ``[C, j, i]``, as given to :func:`~medstation.engine.saliency.methods.explain`.
    values
        Map ``[j, i]`` on the image's grid; only the order of its values matters.
    target
        The class whose probability is followed.
    input_size
        ``(H, W)`` the network runs at, as for ``explain``.
    steps
        Number of deletion steps; the curve has ``steps + 1`` points.
    seed
        Seed for breaking ties between equal values.

    Returns
    -------
    tuple of numpy.ndarray
        Removed fractions ``0 .. 1`` and the class probability at each.
    """
    pixels = np.asarray(image.detach().cpu() if isinstance(image, torch.Tensor) else image, dtype=np.float32)
    channels = pixels.reshape(-1, *pixels.shape[-2:])
    if values.shape != channels.shape[1:]:
        raise ValueError(f"the map's shape {values.shape} is not the image's [j, i] shape {channels.shape[1:]}")
    order = _removal_order(values, np.random.default_rng(seed))
    fractions = np.linspace(0.0, 1.0, steps + 1)
    replacement = blurred(channels).reshape(len(channels), -1)
    inputs = []
    for fraction in fractions:
        step = channels.reshape(len(channels), -1).copy()
        removed = order[: round(fraction * order.size)]
        step[:, removed] = replacement[:, removed]
        inputs.append(network_input(model, step.reshape(channels.shape), input_size))
    with evaluating(model), torch.no_grad():
        probabilities = model(torch.cat(inputs)).softmax(dim=1)[:, target].cpu().numpy()
    return fractions, probabilities.astype(np.float64)


def curve_area(fractions: np.ndarray, probabilities: np.ndarray) -> float:
    """Trapezoidal area under a deletion curve."""
    return float(np.sum((fractions[1:] - fractions[:-1]) * (probabilities[1:] + probabilities[:-1]) / 2))


def faithfulness(
    model: nn.Module,
    image: np.ndarray | torch.Tensor,
    saliency: SaliencyMap,
    input_size: Sequence[int] | None = None,
    random_orders: int = RANDOM_ORDERS,
    seed: int = 0,
) -> Faithfulness:
    """Deletion AUC of a map against the mean over ``random_orders`` random maps.

    Parameters
    ----------
    model, image, input_size
        As given to :func:`~medstation.engine.saliency.methods.explain` for ``saliency``.
    saliency
        The map to score; its ``target`` class is followed.
    random_orders
        Number of random maps (seeds ``seed + 1 ..``) whose deletion AUCs make the reference.
    seed
        Seed for tie-breaking and the random maps.
    """
    fractions, probabilities = deletion_curve(model, image, saliency.values, saliency.target, input_size, seed=seed)
    area = curve_area(fractions, probabilities)
    random_areas = []
    for offset in range(1, random_orders + 1):
        noise = random_map(saliency.values.shape, np.random.default_rng(seed + offset))
        random_areas.append(curve_area(*deletion_curve(model, image, noise, saliency.target, input_size, seed=seed)))
    random_auc = float(np.mean(random_areas))
    return Faithfulness(
        deletion_auc=area,
        random_auc=random_auc,
        random_auc_std=float(np.std(random_areas)),
        relative=(random_auc - area) / random_auc if random_auc > 0 else 0.0,
        fractions=fractions,
        probabilities=probabilities,
    )


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks ``1 .. n`` of the flattened values, tied values sharing the mean of their ranks."""
    flat = np.asarray(values, dtype=np.float64).ravel()
    order = np.argsort(flat, kind="stable")
    _, first, counts = np.unique(flat[order], return_index=True, return_counts=True)
    ranks = np.empty(flat.size)
    ranks[order] = np.repeat(first + (counts + 1) / 2, counts)
    return ranks


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation of two maps of the same shape.

    A constant map has no ranking to share with anything: its correlation is reported as 0.
    """
    if np.shape(a) != np.shape(b):
        raise ValueError(f"maps of different shapes {np.shape(a)} and {np.shape(b)} cannot be compared")
    rank_a, rank_b = average_ranks(a), average_ranks(b)
    if rank_a.std() == 0 or rank_b.std() == 0:
        return 0.0
    return float(np.corrcoef(rank_a, rank_b)[0, 1])


def randomised_copy(model: nn.Module, seed: int = 0) -> nn.Module:
    """A copy of ``model`` with every layer re-initialised by its own ``reset_parameters`` (seeded).

    This is the last step of Adebayo et al.'s cascading randomisation: no trained weight is left.
    """
    randomised = copy.deepcopy(model)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for module in randomised.modules():
            reset = getattr(module, "reset_parameters", None)
            if callable(reset):
                reset()
    return randomised


@dataclass(frozen=True)
class SanityCheck:
    """A map of the trained model, the same map of the randomised model, and their rank correlation."""

    trained: SaliencyMap
    randomised: SaliencyMap
    correlation: float


def randomisation_check(
    model: nn.Module,
    image: np.ndarray | torch.Tensor,
    method: str,
    input_size: Sequence[int] | None = None,
    seed: int = 0,
    progress: ProgressCallback | None = None,
    cancel: CancelToken = None,
) -> SanityCheck:
    """Explain ``image`` with the trained model and with a randomised copy, for the trained model's class.

    A low correlation means the map depends on what the model learned; a high one means the method would draw
    much the same map for any network.
    """
    trained = explain(model, image, method, input_size=input_size, cancel=cancel)
    report(progress, 0.5, "explaining with randomised weights")
    check_cancelled(cancel)
    randomised = explain(randomised_copy(model, seed), image, method, trained.target, input_size, cancel=cancel)
    report(progress, 1.0, "sanity check done")
    return SanityCheck(trained, randomised, rank_correlation(trained.values, randomised.values))
