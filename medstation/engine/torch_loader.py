"""Import torch without freezing the GUI thread.

Importing torch dlopens ``libtorch_cpu``, whose static initialisers run for ~0.3 s while the importing
thread holds the GIL, so a GUI thread stalls for that long even when the import happens in a worker.
Loading that library first through libc's ``dlopen`` called via ctypes (which releases the GIL around
foreign calls) runs those initialisers without the GIL; the import that follows finds it loaded.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import sys
import threading
from pathlib import Path
from types import ModuleType

_NATIVE_CORE = {"linux": "libtorch_cpu.so", "darwin": "libtorch_cpu.dylib"}
_lock = threading.Lock()


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


def load_torch() -> ModuleType:
    """Return the torch module, importing it the GUI-friendly way on first use."""
    if "torch" not in sys.modules:
        with _lock:
            if "torch" not in sys.modules:
                preload_native_core()
    import torch

    return torch
