"""Grad-CAM and Grad-CAM++ through MONAI's ``monai.visualize``, with the target layer found automatically.

MONAI's ``ModelWithHooks`` registers its hooks on the model for good and drops their handles; here the hooks
are registered with their handles kept and removed after each map, so explaining leaves the model as it was.
While a map is computed the parameters are frozen and the autograd graph starts at the target layer's output,
whose gradient a tensor hook hands to MONAI: Grad-CAM needs gradients there only, so the backward pass covers
the classifier head alone and the map costs about one forward pass (a full backward pass through a ResNet-18
costs about twice that again).
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Callable, Iterator

from medstation.engine.runtime import engine_module, load_torch
from medstation.errors import ModelError

torch = load_torch()
nn = engine_module("torch.nn")
visualize = engine_module("monai.visualize")
ModelWithHooks = engine_module("monai.visualize.class_activation_maps").ModelWithHooks

CAM_METHODS = ("gradcam", "gradcampp")

_target_layers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# Hooks act on every forward pass of the model, whichever thread runs it: one hooked computation at a time.
_hooks_lock = threading.RLock()


def find_target_layer(model: nn.Module, example: torch.Tensor) -> str:
    """Name of the module that produces the last spatial feature map before global pooling.

    Found with one forward pass and remembered for the model (per number of input dimensions).

    For a ResNet this is its last stage (``layer4``), for MONAI's DenseNet ``class_layers.relu``: the output of
    the last convolutional block, where Grad-CAM is usually taken.

    Parameters
    ----------
    model
        The classifier, in eval mode.
    example
        An input batch ``[1, C, *spatial]`` of the size the model is run on.

    Returns
    -------
    str
        A name from ``model.named_modules()``.
    """
    with _hooks_lock:
        known = _target_layers.setdefault(model, {})
        if example.ndim not in known:
            known[example.ndim] = _last_spatial_module(model, example)
        return known[example.ndim]


def _last_spatial_module(model: nn.Module, example: torch.Tensor) -> str:
    spatial_ndim = example.ndim
    finished: list[str] = []
    handles = []

    def record(name: str):
        def hook(module: nn.Module, _inputs: object, output: object) -> None:
            pooling = "Pool" in type(module).__name__
            if isinstance(output, torch.Tensor) and output.ndim == spatial_ndim and not pooling:
                finished.append(name)

        return hook

    for name, module in model.named_modules():
        if name:
            handles.append(module.register_forward_hook(record(name)))
    try:
        with torch.no_grad():
            model(example)
    finally:
        for handle in handles:
            handle.remove()
    if not finished:
        raise ModelError(f"{type(model).__name__} has no module with a spatial output; Grad-CAM needs a CNN")
    return finished[-1]


def _in_this_thread(hook: Callable) -> Callable:
    """``hook`` acting only on forward passes run by the calling thread, so other threads' inference is untouched."""
    owner = threading.get_ident()

    def guarded(module: nn.Module, inputs: object, output: object) -> None:
        if threading.get_ident() == owner:
            hook(module, inputs, output)

    return guarded


@contextlib.contextmanager
def _hooked(model: nn.Module, layer: str) -> Iterator[tuple[object, list]]:
    """A MONAI ``ModelWithHooks`` for ``layer`` and a list receiving the model's logits; hooks removed on exit."""
    modules = dict(model.named_modules())
    if layer not in modules:
        raise ModelError(f"{type(model).__name__} has no layer named {layer!r}; choose one of its module names")
    wrapped = ModelWithHooks(model, (), register_forward=True, register_backward=True)
    wrapped.target_layers = (layer,)
    logits: list = []

    def start_graph_here(_module: nn.Module, _inputs: object, output: torch.Tensor) -> None:
        output.requires_grad_(True)
        output.register_hook(lambda gradient: wrapped.gradients.__setitem__(layer, gradient))

    frozen = [parameter for parameter in model.parameters() if parameter.requires_grad]
    for parameter in frozen:
        parameter.requires_grad_(False)
    hooks = [
        (modules[layer], start_graph_here),
        (modules[layer], wrapped.forward_hook(layer)),
        (model, lambda _module, _inputs, output: logits.append(output.detach())),
    ]
    handles = [module.register_forward_hook(_in_this_thread(hook)) for module, hook in hooks]
    try:
        yield wrapped, logits
    finally:
        for handle in handles:
            handle.remove()
        for parameter in frozen:
            parameter.requires_grad_(True)


def class_activation_map(
    model: nn.Module, x: torch.Tensor, method: str, target: int | None, layer: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Grad-CAM or Grad-CAM++ for one image, at the network input's size.

    Parameters
    ----------
    model
        The classifier, in eval mode.
    x
        Network input ``[1, C, H, W]``.
    method
        ``"gradcam"`` or ``"gradcampp"``.
    target
        Class index to explain; the predicted class when ``None``.
    layer
        Name of the module whose activations and gradients weight the map.

    Returns
    -------
    tuple of torch.Tensor
        The non-negative map ``[H, W]`` (not normalised) and the model's logits ``[1, classes]``.
    """
    cam_class = {"gradcam": visualize.GradCAM, "gradcampp": visualize.GradCAMpp}[method]
    with _hooks_lock, _hooked(model, layer) as (wrapped, logits), torch.enable_grad():
        cam = cam_class(nn_module=wrapped, target_layers=layer, postprocessing=lambda m: m)
        try:
            cam_map = cam(x.detach(), class_idx=target)
        except IndexError as error:
            raise ModelError(f"class index {target} is out of range for this model ({error})") from error
    return cam_map.detach()[0, 0], logits[-1]
