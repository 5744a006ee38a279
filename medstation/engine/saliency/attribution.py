"""Perturbation and path attributions through Captum: occlusion, integrated gradients, LIME and Kernel SHAP.

Every model evaluation goes through :class:`ModelCalls`, which reports progress and checks the cancel token
before each batch, so these slow methods stop between batches when the user cancels.
"""

from __future__ import annotations

import math

from medstation.engine.runtime import engine_module, load_torch
from medstation.engine.saliency.superpixels import slic_segments
from medstation.progress import CancelToken, ProgressCallback, check_cancelled, report

torch = load_torch()
nn = engine_module("torch.nn")
attr = engine_module("captum.attr")
SkLearnRidge = engine_module("captum._utils.models.linear_model").SkLearnRidge

ATTRIBUTION_METHODS = ("occlusion", "integrated_gradients", "lime", "kernel_shap")
BATCH = 64
IG_STEPS = 32
SURROGATE_SAMPLES = 256
SUPERPIXELS = 49
LIME_RIDGE = 1.0


class ModelCalls:
    """The model as Captum calls it: checks the cancel token before each batch and reports progress after it.

    Parameters
    ----------
    model
        The classifier, in eval mode.
    expected
        Number of batches the method is expected to run, for the progress fraction.
    probabilities
        Return class probabilities (softmax) rather than logits.
    progress, cancel
        The engine's progress callback and cancel token.
    """

    def __init__(
        self,
        model: nn.Module,
        expected: int,
        probabilities: bool,
        progress: ProgressCallback | None,
        cancel: CancelToken,
    ) -> None:
        self.model = model
        self.expected = max(1, expected)
        self.probabilities = probabilities
        self.progress = progress
        self.cancel = cancel
        self.calls = 0

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        check_cancelled(self.cancel)
        logits = self.model(batch)
        self.calls += 1
        report(self.progress, self.calls / self.expected, "explaining")
        return logits.softmax(dim=1) if self.probabilities else logits


def occlusion_window(shape: tuple[int, int]) -> tuple[int, int]:
    """Side and stride in pixels of the occluding square: a seventh of the shorter side, moved by half of it."""
    side = max(2, round(min(shape) / 7))
    return side, max(1, side // 2)


def occlusion(
    model: nn.Module, x: torch.Tensor, target: int, progress: ProgressCallback | None, cancel: CancelToken
) -> torch.Tensor:
    """Drop in the target class probability when a square around each pixel is set to the image mean.

    Returns a map ``[H, W]`` at the network input's size; positive where hiding the region lowers the class.
    """
    side, stride = occlusion_window(tuple(x.shape[-2:]))
    windows = math.prod((n - side) // stride + 1 for n in x.shape[-2:])
    calls = ModelCalls(model, 1 + math.ceil(windows / BATCH), True, progress, cancel)
    attribution = attr.Occlusion(calls).attribute(
        x,
        sliding_window_shapes=(x.shape[1], side, side),
        strides=(x.shape[1], stride, stride),
        baselines=float(x.mean()),
        target=target,
        perturbations_per_eval=BATCH,
    )
    return attribution[0].sum(0)


def integrated_gradients(
    model: nn.Module, x: torch.Tensor, target: int, progress: ProgressCallback | None, cancel: CancelToken
) -> torch.Tensor:
    """Integrated gradients of the target logit along the straight path from the mean-grey image.

    Returns a signed map ``[H, W]`` at the network input's size (channels summed).
    """
    calls = ModelCalls(model, math.ceil(IG_STEPS / BATCH), False, progress, cancel)
    with torch.enable_grad():
        attribution = attr.IntegratedGradients(calls).attribute(
            x.detach(),
            baselines=float(x.mean()),
            target=target,
            n_steps=IG_STEPS,
            internal_batch_size=BATCH,
        )
    return attribution.detach()[0].sum(0)


def superpixel_mask(x: torch.Tensor) -> torch.Tensor:
    """SLIC-like superpixels of the first channel, as a Captum feature mask ``[1, 1, H, W]`` shared by channels."""
    labels = slic_segments(x[0, 0].detach().cpu().numpy(), n_segments=SUPERPIXELS)
    return torch.from_numpy(labels).to(x.device)[None, None]


def surrogate(
    model: nn.Module,
    x: torch.Tensor,
    target: int,
    method: str,
    progress: ProgressCallback | None,
    cancel: CancelToken,
    seed: int = 0,
) -> torch.Tensor:
    """LIME or Kernel SHAP on superpixels: a linear surrogate fitted to the model on random superpixel subsets.

    Superpixels that are switched off take the image mean. The sampling is seeded, so the same image gives the
    same map. LIME's surrogate is ridge regression (alpha 1, the ``lime`` package's default): Captum's default,
    a Lasso with alpha 0.01, drops every superpixel of a confident model and leaves an empty map.

    Returns
    -------
    torch.Tensor
        A signed map ``[H, W]``, each pixel carrying the weight of its superpixel for the target probability.
    """
    calls = ModelCalls(model, 1 + math.ceil(SURROGATE_SAMPLES / BATCH), True, progress, cancel)
    explainer = attr.Lime(calls, SkLearnRidge(alpha=LIME_RIDGE)) if method == "lime" else attr.KernelShap(calls)
    mask = superpixel_mask(x).expand(1, x.shape[1], *x.shape[-2:])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        attribution = explainer.attribute(
            x,
            baselines=float(x.mean()),
            target=target,
            feature_mask=mask,
            n_samples=SURROGATE_SAMPLES,
            perturbations_per_eval=BATCH,
        )
    return attribution[0, 0]
