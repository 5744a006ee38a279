"""Batch normalisation over the global batch of every worker, so that training on several processes normalises each
layer as one process running the whole batch would.

A recipe's batch size is a number of images per optimiser step; with ``N`` workers each holds ``1/N`` of it. Plain
batch normalisation would then normalise each worker's part by its own mean and variance: the network would
compute something else at every worker count (noisier statistics, and for a class-conditional generator a batch
that may hold few images of a class), and the same seed would not give the same model. :func:`batch_norm_across_workers`
replaces every batch normalisation of a network being trained with one whose statistics are summed across the
workers: ``torch.nn.SyncBatchNorm`` on CUDA workers (NCCL), and on CPU workers (gloo), which ``SyncBatchNorm``
refuses, :class:`CrossProcessBatchNorm`: one all-reduce of the per-channel count, sum and sum of squares (in
float64) in the forward pass, its gradient summed by the same all-reduce in the backward pass. The layers keep their
parameters, buffers and state-dict names, so checkpoints and bundles are those of the plain network, and in
evaluation mode (or in a single process) they are plain batch normalisation.
"""

from __future__ import annotations

from typing import Any

from medstation.engine.runtime.distributed import Workers
from medstation.engine.runtime.libraries import engine_module, load_torch

torch = load_torch()
nn = engine_module("torch.nn")
_BatchNorm = nn.modules.batchnorm._BatchNorm


class _SummedAcrossWorkers(torch.autograd.Function):
    """A tensor summed over every worker; its gradient likewise (each worker's input feeds every worker's sum)."""

    @staticmethod
    def forward(ctx: Any, tensor: torch.Tensor) -> torch.Tensor:
        summed = tensor.clone(memory_format=torch.contiguous_format)
        engine_module("torch.distributed").all_reduce(summed)
        return summed

    @staticmethod
    def backward(ctx: Any, gradient: torch.Tensor) -> torch.Tensor:
        return _SummedAcrossWorkers.apply(gradient)


def _across_workers() -> bool:
    dist = engine_module("torch.distributed")
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


class CrossProcessBatchNorm(_BatchNorm):
    """Batch normalisation (any number of spatial dimensions) whose training statistics are those of the global
    batch of every worker of the process group."""

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected an input of at least 2 dimensions, got {input.dim()}")

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        if not (self.training and _across_workers()):
            return super().forward(input)
        self._check_input_dim(input)
        channels = input.shape[1]
        dims = [0, *range(2, input.dim())]
        shape = [1, channels] + [1] * (input.dim() - 2)
        local = torch.cat([
            input.sum(dims, dtype=torch.float64),
            (input * input).sum(dims, dtype=torch.float64),
            torch.full((1,), input.numel() / channels, dtype=torch.float64, device=input.device),
        ])
        total = _SummedAcrossWorkers.apply(local)
        count = total[-1]
        mean = total[:channels] / count
        variance = (total[channels : 2 * channels] / count - mean * mean).clamp_min(0.0)
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                momentum = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
                unbiased = variance * count / (count - 1).clamp_min(1.0)
                self.running_mean.lerp_(mean.to(self.running_mean.dtype), momentum)
                self.running_var.lerp_(unbiased.to(self.running_var.dtype), momentum)
        scale = torch.rsqrt(variance + self.eps).to(input.dtype)
        output = (input - mean.to(input.dtype).view(shape)) * scale.view(shape)
        if self.affine:
            output = output * self.weight.view(shape) + self.bias.view(shape)
        return output


def _converted(module: Any) -> Any:
    if not isinstance(module, _BatchNorm) or isinstance(module, CrossProcessBatchNorm):
        for name, child in list(module.named_children()):
            setattr(module, name, _converted(child))
        return module
    replacement = CrossProcessBatchNorm(module.num_features, module.eps, module.momentum, module.affine,
                                        module.track_running_stats, device=None, dtype=None)
    if module.affine:
        replacement.weight, replacement.bias = module.weight, module.bias
    if module.track_running_stats:
        replacement.running_mean, replacement.running_var = module.running_mean, module.running_var
        replacement.num_batches_tracked = module.num_batches_tracked
    replacement.train(module.training)
    return replacement


def batch_norm_across_workers(module: Any, workers: Workers) -> Any:
    """``module`` with each batch normalisation normalising the global batch of ``workers`` (the same parameter and
    buffer objects, so an optimiser made before still holds them); ``module`` itself for a single worker."""
    if not workers.distributed:
        return module
    if workers.device.startswith("cuda"):
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)
    return _converted(module)
