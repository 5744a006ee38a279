"""Saliency maps for a 2D image classifier: one entry point, :func:`explain`, for every method offered.

Methods: Grad-CAM and Grad-CAM++ (MONAI), occlusion sensitivity, integrated gradients, LIME and Kernel SHAP on
superpixels (Captum). Every map shows the evidence *for* the explained class: positive attributions, scaled
so the strongest is 1, on the input image's own pixel grid ``[j, i]`` whatever size the network runs at.
How far to trust a map is measured in :mod:`medstation.engine.saliency.checks`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import numpy as np

from medstation.engine.runtime import engine_module, load_torch
from medstation.engine.saliency.attribution import integrated_gradients, occlusion, surrogate
from medstation.engine.saliency.cam import CAM_METHODS, class_activation_map, find_target_layer
from medstation.engine.saliency.maps import METHOD_LABELS, METHODS, SaliencyMap
from medstation.errors import GeometryError, ModelError
from medstation.progress import CancelToken, ProgressCallback, check_cancelled, report

torch = load_torch()
nn = engine_module("torch.nn")


@contextlib.contextmanager
def evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """Put ``model`` in eval mode for the duration, then restore its previous mode."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def network_input(model: nn.Module, image: np.ndarray | torch.Tensor, input_size: Sequence[int] | None) -> torch.Tensor:
    """The image as a float32 batch ``[1, C, H, W]`` on the model's device, resized to ``input_size`` if given.

    Parameters
    ----------
    model
        The classifier; its parameters give the device.
    image
        ``[j, i]`` or ``[C, j, i]``, already in the intensity units the model expects.
    input_size
        ``(H, W)`` the network runs at; ``None`` keeps the image's own size.
    """
    tensor = image if isinstance(image, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(image))
    if tensor.ndim not in (2, 3):
        raise GeometryError(f"saliency maps need a 2D image [j, i] or [C, j, i]; got shape {tuple(tensor.shape)}")
    batch = tensor.detach().float().reshape(1, -1, *tensor.shape[-2:])
    parameter = next(model.parameters(), None)
    if parameter is not None:
        batch = batch.to(parameter.device)
    if input_size is not None and tuple(input_size) != tuple(batch.shape[-2:]):
        if len(input_size) != 2:
            raise GeometryError(f"the network input size must be (H, W); got {tuple(input_size)}")
        shrinking = any(n < m for n, m in zip(input_size, batch.shape[-2:], strict=True))
        batch = nn.functional.interpolate(
            batch, size=tuple(input_size), mode="bilinear", align_corners=False, antialias=shrinking
        )
    return batch


def on_image_grid(raw: torch.Tensor | np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Positive part of a map ``[H, W]``, resampled to the image's ``[j, i]`` grid and scaled to [0, 1]."""
    positive = torch.as_tensor(raw).detach().float().clamp(min=0)[None, None]
    if tuple(positive.shape[-2:]) != tuple(shape):
        positive = nn.functional.interpolate(positive, size=shape, mode="bilinear", align_corners=False)
    values = positive[0, 0].cpu().numpy().astype(np.float32)
    peak = float(values.max())
    return values / peak if peak > 0 else np.zeros_like(values)


def explain(
    model: nn.Module,
    image: np.ndarray | torch.Tensor,
    method: str = "gradcam",
    target: int | None = None,
    input_size: Sequence[int] | None = None,
    layer: str | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken = None,
) -> SaliencyMap:
    """Explain the classifier's output for one 2D image.

    Parameters
    ----------
    model
        A 2D classifier taking ``[B, C, H, W]`` and returning logits ``[B, classes]``.
    image
        ``[j, i]`` or ``[C, j, i]`` (numpy or torch), in the intensity units the model expects.
    method
        One of :data:`METHODS`.
    target
        Class index to explain; the model's predicted class when ``None``.
    input_size
        ``(H, W)`` the network runs at; the image is resized to it and the map resampled back.
    layer
        Grad-CAM / Grad-CAM++ only: the module to read; the last spatial feature map when ``None``.
    progress, cancel
        Progress callback and cancel token; the slow methods check ``cancel`` between batches.

    Returns
    -------
    SaliencyMap
        ``values`` has the image's ``[j, i]`` shape.
    """
    if method not in METHODS:
        raise ModelError(f"unknown saliency method {method!r}; choose one of {', '.join(METHODS)}")
    report(progress, 0.0, METHOD_LABELS[method])
    with evaluating(model):
        x = network_input(model, image, input_size)
        if method in CAM_METHODS:
            layer = layer or find_target_layer(model, x)
            raw, logits = class_activation_map(model, x, method, target, layer)
        else:
            check_cancelled(cancel)
            with torch.no_grad():
                logits = model(x)
            target = _checked_target(target, logits)
            layer = None
            raw = _attribution(model, x, method, target, progress, cancel)
    target = _checked_target(target, logits)
    report(progress, 1.0, METHOD_LABELS[method])
    return SaliencyMap(
        values=on_image_grid(raw, tuple(image.shape[-2:])),
        method=method,
        target=target,
        probability=float(logits.detach().softmax(dim=1)[0, target]),
        layer=layer,
    )


def _checked_target(target: int | None, logits: torch.Tensor) -> int:
    """The class to explain: ``target`` if it is one of the model's classes, else the predicted class if ``None``."""
    classes = logits.shape[1]
    if target is None:
        return int(logits.argmax(dim=1)[0])
    if not 0 <= int(target) < classes:
        raise ModelError(f"class index {target} is out of range: the model has {classes} classes (0 to {classes - 1})")
    return int(target)


def _attribution(
    model: nn.Module,
    x: torch.Tensor,
    method: str,
    target: int,
    progress: ProgressCallback | None,
    cancel: CancelToken,
) -> torch.Tensor:
    if method == "occlusion":
        return occlusion(model, x, target, progress, cancel)
    if method == "integrated_gradients":
        return integrated_gradients(model, x, target, progress, cancel)
    return surrogate(model, x, target, method, progress, cancel)
