"""Training on several processes, on one machine or many, with PyTorch's own launcher and DistributedDataParallel.

``medstation train KIND ... --nproc-per-node N [--nnodes M --node-rank R --rdzv-endpoint HOST:PORT]`` calls
:func:`launch`, which runs ``torch.distributed.run`` (what the ``torchrun`` command runs) with the same
``medstation train`` command line as each worker. torchrun starts the workers with ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT`` set, one thread each for the CPU libraries, and stops them all
when one fails. In a worker, :func:`process_group` joins the others (gloo for CPU processes; NCCL for a family that
trains on CUDA, each worker on the GPU of its local rank), and a family's training wraps its network in
``DistributedDataParallel``, deals each epoch's shuffled items out with a ``DistributedSampler`` and reduces its
metrics across the workers (:func:`reduce_sum`, or each worker scoring its :func:`share` of a split and
:func:`gather` assembling the whole); rank 0 alone reports progress and writes checkpoints and the bundle, the others
waiting for it at a :func:`barrier`. Batch normalisation is made to see the global batch
(:mod:`medstation.engine.runtime.batch_norm`). On one machine (``--nnodes 1``)
the workers meet at a free local port (``--standalone``); across machines every node runs the same command with its
``--node-rank`` and the same ``--rdzv-endpoint`` (the c10d rendezvous on the first node). docs/scale-out.md shows
both.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from medstation.engine.runtime.libraries import engine_module, load_torch
from medstation.errors import MedStationError

WORKER_VARIABLE = "LOCAL_RANK"
"""Set by torchrun in each worker it starts."""


@dataclass(frozen=True)
class Workers:
    """This process's place among the workers: its rank, how many there are, and its compute device."""

    rank: int
    world: int
    device: str
    grouped: bool = False
    """True in a worker started by torchrun, one worker alone included: its training shuffles with the sampler
    every worker shares, so that one worker and many see the same global batches."""

    @property
    def leader(self) -> bool:
        """True in the worker that reports progress and writes results (rank 0)."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1

    @property
    def on_this_machine(self) -> int:
        """How many of the job's workers share this machine (torchrun's LOCAL_WORLD_SIZE); 1 outside torchrun."""
        return int(os.environ.get("LOCAL_WORLD_SIZE") or self.world) if self.grouped else 1


SINGLE = Workers(0, 1, "cpu")


def launched() -> bool:
    """True in a worker started by torchrun."""
    return WORKER_VARIABLE in os.environ and "WORLD_SIZE" in os.environ


def launch(
    command: Sequence[str],
    nproc_per_node: int,
    nnodes: str = "1",
    node_rank: int = 0,
    rdzv_endpoint: str | None = None,
    after_failure: str = "nothing was written",
    job: str = "training",
) -> None:
    """Run ``python -m medstation COMMAND`` in ``nproc_per_node`` workers on this node through
    ``torch.distributed.run``; returns when every worker has ended, MedStationError naming the failure otherwise
    (``distributed JOB failed: ...``, ending with ``after_failure``: what a failed run leaves behind)."""
    if nproc_per_node < 1:
        raise MedStationError(f"--nproc-per-node must be at least 1, not {nproc_per_node}")
    single_node = str(nnodes) == "1"
    if not single_node and not rdzv_endpoint:
        raise MedStationError("--nnodes above 1 needs --rdzv-endpoint HOST:PORT, the same on every node")
    run = engine_module("torch.distributed.run")
    launcher = [f"--nproc-per-node={nproc_per_node}", f"--nnodes={nnodes}", "--max-restarts=0"]
    if single_node and not rdzv_endpoint:
        launcher.append("--standalone")
    else:
        launcher += [f"--node-rank={node_rank}", "--rdzv-backend=c10d", f"--rdzv-endpoint={rdzv_endpoint}"]
    arguments = run.get_args_parser().parse_args([*launcher, "-m", "medstation", *command])
    errors = engine_module("torch.distributed.elastic.multiprocessing.errors")
    try:
        run.run(arguments)
    except errors.ChildFailedError as error:
        rank, failure = error.get_first_failure()
        code = failure.exitcode
        how = f"killed by {signal.Signals(-code).name}" if code < 0 and -code in signal.valid_signals() else (
            f"exited with {code}")
        raise MedStationError(f"distributed {job} failed: rank {rank} {how} first; the other workers were "
                              f"stopped, {after_failure}") from None
    except Exception as error:  # the rendezvous: an unreachable endpoint, a port in use, a timeout
        if isinstance(error, MedStationError):
            raise
        raise MedStationError(f"distributed {job} could not start: {error}") from None


@contextlib.contextmanager
def process_group(cuda: bool = False) -> Iterator[Workers]:
    """This worker's place among the workers started by torchrun (and the process group joined for it); a process
    not started by torchrun is the only worker. ``cuda``: the family trains on CUDA where there is a GPU (NCCL, the
    GPU of the worker's local rank); otherwise the workers are CPU processes (gloo)."""
    if not launched():
        yield SINGLE
        return
    torch = load_torch()
    dist = engine_module("torch.distributed")
    local_rank = int(os.environ[WORKER_VARIABLE])
    if cuda and torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
        backend, device = "nccl", f"cuda:{local_rank}"
    else:
        backend, device = "gloo", "cpu"
    dist.init_process_group(backend=backend)
    try:
        yield Workers(dist.get_rank(), dist.get_world_size(), device, grouped=True)
    finally:
        with contextlib.suppress(Exception):
            dist.destroy_process_group()


def current() -> Workers:
    """The workers of the process group this process has joined, or :data:`SINGLE`."""
    dist = engine_module("torch.distributed")
    if not (dist.is_available() and dist.is_initialized()):
        return SINGLE
    torch = load_torch()
    device = f"cuda:{torch.cuda.current_device()}" if dist.get_backend() == "nccl" else "cpu"
    return Workers(dist.get_rank(), dist.get_world_size(), device, grouped=True)


def reduce_sum(values: Sequence[float], workers: Workers) -> list[float]:
    """``values`` summed over every worker (the values themselves for a single one)."""
    if not workers.distributed:
        return list(values)
    torch = load_torch()
    tensor = torch.tensor(list(values), dtype=torch.float64, device=workers.device)
    engine_module("torch.distributed").all_reduce(tensor)
    return tensor.cpu().tolist()


def share(count: int, workers: Workers) -> slice:
    """This worker's part of ``count`` items split into ``workers.world`` consecutive parts (sizes differing by at
    most one), for work every worker would otherwise repeat, such as scoring a validation split."""
    size, extra = divmod(count, workers.world)
    start = workers.rank * size + min(workers.rank, extra)
    return slice(start, start + size + (workers.rank < extra))


def gather(part: np.ndarray, count: int, workers: Workers) -> np.ndarray:
    """The rows ``[count, ...]`` of which each worker computed its :func:`share` as ``part``, on every worker
    (float64; one all-reduce of the whole array with every other worker's rows zero)."""
    if not workers.distributed:
        return np.asarray(part, dtype=np.float64)
    torch = load_torch()
    whole = np.zeros((count, *np.shape(part)[1:]), dtype=np.float64)
    whole[share(count, workers)] = part
    tensor = torch.from_numpy(whole).to(workers.device)
    engine_module("torch.distributed").all_reduce(tensor)
    return tensor.cpu().numpy()


def gather_objects(value: Any, workers: Workers) -> list[Any]:
    """Every worker's ``value`` (picklable), in rank order, on every worker; ``[value]`` for a single one."""
    if not workers.distributed:
        return [value]
    gathered: list[Any] = [None] * workers.world
    engine_module("torch.distributed").all_gather_object(gathered, value)
    return gathered


def data_parallel(module: Any, workers: Workers) -> Any:
    """``module`` wrapped in ``DistributedDataParallel`` for these workers (on the GPU of a CUDA worker)."""
    parallel = engine_module("torch.nn.parallel")
    if workers.device.startswith("cuda"):
        index = int(workers.device.split(":")[1])
        return parallel.DistributedDataParallel(module, device_ids=[index], output_device=index)
    return parallel.DistributedDataParallel(module)


def barrier(workers: Workers) -> None:
    """Wait until every worker gets here."""
    if workers.distributed:
        engine_module("torch.distributed").barrier()
