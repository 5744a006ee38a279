"""The engine's heavy libraries (torch, MONAI, captum): each module imported once, one import at a time.

Two threads importing MONAI at the same time deadlock inside its circular imports: one gets Python's
``_DeadlockError``, the other "cannot import name 'VQVAE' from partially initialized module
'monai.networks.nets'" (seen when Classify was clicked while the workstation was still warming the engine).
So every engine import of these libraries goes through :func:`engine_module`, which imports under one
re-entrant lock: a second caller waits for the import in progress to finish, then finds the module loaded.
An import that fails is not remembered, so the next caller tries again.

Importing torch dlopens ``libtorch_cpu``, whose static initialisers run for ~0.3 s while the importing
thread holds the GIL, so a GUI thread stalls for that long even when the import happens in a worker.
Loading that library first through libc's ``dlopen`` called via ctypes (which releases the GIL around
foreign calls) runs those initialisers without the GIL; the import that follows finds it loaded.
"""

from __future__ import annotations

import ctypes
import importlib
import importlib.util
import os
import sys
import threading
from pathlib import Path
from types import ModuleType

from medstation.progress import CancelToken, ProgressCallback, check_cancelled, report

_NATIVE_CORE = {"linux": "libtorch_cpu.so", "darwin": "libtorch_cpu.dylib"}
_lock = threading.RLock()
_imported: set[str] = set()

OPTIMISER_MACHINERY = "torch._dynamo"
"""What the first optimiser of a process imports (~800 modules, ~1 s)."""
ENGINE_MODULES = (
    "torch",
    OPTIMISER_MACHINERY,
    "torch.fx.experimental.optimization",
    "monai",
    "monai.networks.nets",
    "monai.visualize",
    "monai.metrics.fid",
    "captum.attr",
)
"""Every heavy module the engine uses, in the order :func:`load_engine_libraries` imports them."""


def _native_core_path() -> Path | None:
    name = _NATIVE_CORE.get(sys.platform)
    spec = importlib.util.find_spec("torch")
    if name is None or spec is None or not spec.submodule_search_locations:
        return None
    path = Path(spec.submodule_search_locations[0]) / "lib" / name
    return path if path.exists() else None


def preload_native_core() -> bool:
    """dlopen torch's native core with the GIL released; False where this platform cannot."""
    path = _native_core_path()
    if path is None:
        return False
    libc = ctypes.CDLL(None)
    dlopen = libc.dlopen
    dlopen.restype = ctypes.c_void_p
    dlopen.argtypes = [ctypes.c_char_p, ctypes.c_int]
    return bool(dlopen(os.fsencode(path), os.RTLD_NOW | os.RTLD_GLOBAL))


def _import(name: str) -> ModuleType:
    if "torch" not in sys.modules:
        preload_native_core()
    return importlib.import_module(name)


def engine_module(name: str) -> ModuleType:
    """The module ``name`` (``"torch"``, ``"monai.networks.nets"``, ``"captum.attr"``...), imported on first use
    under the engine's import lock; a caller arriving during another thread's import waits for it."""
    if name not in _imported:
        with _lock:
            if name not in _imported:
                _import(name)
                _imported.add(name)
    return sys.modules[name]


def load_torch() -> ModuleType:
    """The torch module, imported the GUI-friendly way on first use."""
    return engine_module("torch")


def load_optimisers() -> ModuleType:
    """The torch module with its optimiser machinery imported, for code about to build an optimiser."""
    engine_module(OPTIMISER_MACHINERY)
    return load_torch()


def load_engine_libraries(progress: ProgressCallback | None = None, cancel: CancelToken = None) -> ModuleType:
    """Import every module of :data:`ENGINE_MODULES` (what the workstation warms after its first paint); returns
    torch. Cancel is checked between modules."""
    for number, name in enumerate(ENGINE_MODULES):
        check_cancelled(cancel)
        report(progress, number / len(ENGINE_MODULES), f"loading {name.partition('.')[0]}")
        engine_module(name)
    report(progress, 1.0, "engine libraries loaded")
    return load_torch()
