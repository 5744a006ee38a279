"""Warm the engine's heavy imports in the background, after the window's first paint.

Importing torch, its optimiser machinery (the first optimiser imports ``torch._dynamo``, ~800 modules)
and MONAI holds the GIL in bursts of up to ~0.2 s. Doing it once, early, in a worker keeps those bursts
out of the jobs the user starts later. The imports go through :mod:`medstation.engine.runtime.libraries`, so a job
started meanwhile waits for them instead of importing the same libraries beside them. Then every module of the
engine is imported: the families' modules import those libraries at their top, and the ones the workstation imports
when it starts leave them to these (docs/design.md §5).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import pkgutil

from medstation.engine.runtime.device import DeviceInfo, detect_device
from medstation.engine.runtime.libraries import engine_module, load_engine_libraries, load_torch
from medstation.progress import CancelToken, ProgressCallback, check_cancelled, report

ENGINE_PACKAGE = "medstation.engine"


def engine_module_names() -> list[str]:
    """Every module of the engine, packages included, in the order :mod:`pkgutil` walks them."""
    package = importlib.import_module(ENGINE_PACKAGE)
    return [info.name for info in pkgutil.walk_packages(package.__path__, f"{ENGINE_PACKAGE}.")]


def warm_engine(
    device_setting: str | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken = None,
) -> tuple[DeviceInfo, dict[str, str]]:
    """Import the engine's libraries and modules, detect the compute device; returns it with library versions."""
    report(progress, 0.0, "loading torch")
    torch = load_torch()
    check_cancelled(cancel)
    report(progress, 0.3, "detecting the compute device")
    info = detect_device(device_setting, reserve_for_gui=True)
    load_engine_libraries(progress=lambda f, m: report(progress, 0.4 + 0.5 * f, m), cancel=cancel)
    report(progress, 0.9, "loading the model families")
    for name in engine_module_names():
        check_cancelled(cancel)
        importlib.import_module(name)
    versions = {"torch": torch.__version__, "monai": engine_module("monai").__version__}
    versions["cuda"] = torch.version.cuda or "none"
    versions["SimpleITK"] = importlib.metadata.version("SimpleITK")
    report(progress, 1.0, "engine ready")
    return info, versions
