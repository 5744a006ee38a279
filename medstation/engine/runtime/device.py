"""Compute device selection: CUDA, then Apple MPS, then CPU; overridable by setting or environment.

``MEDSTATION_DEVICE`` (``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``) wins over the saved setting
(Preferences, :mod:`medstation.settings`; the GUI and every command read the same file), which wins over
automatic detection. A device that was asked for but is absent is an error, never a silent fallback.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from dataclasses import dataclass

from medstation.engine.runtime.libraries import load_torch
from medstation.errors import DeviceError
from medstation.settings import load_settings, settings_location

ENV_VARIABLE = "MEDSTATION_DEVICE"
CHOICES = ("auto", "cpu", "cuda", "mps")
_DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")
_threads_lock = threading.Lock()
_threads_configured = False


@dataclass(frozen=True)
class DeviceInfo:
    """The device the engine runs on, as the status bar and the About dialog show it."""

    device: str
    name: str
    threads: int
    source: str

    def label(self) -> str:
        """A short human label, e.g. ``CUDA: NVIDIA H200`` or ``CPU (2 threads)``."""
        if self.device.startswith("cuda"):
            return f"CUDA: {self.name}"
        if self.device == "mps":
            return "Apple MPS"
        return f"CPU ({self.threads} thread{'s' if self.threads != 1 else ''})"


def requested_device(setting: str | None = None) -> tuple[str, str]:
    """The device asked for and where the request came from (``environment``, ``settings`` or ``auto``).

    ``setting`` is the saved device; None reads it from the user settings file.
    """
    env_value = os.environ.get(ENV_VARIABLE, "").strip().lower()
    if env_value:
        if not _DEVICE_PATTERN.match(env_value):
            raise DeviceError(f"{ENV_VARIABLE}={env_value!r} is not a device; use one of auto, cpu, cuda, cuda:N, mps")
        if env_value != "auto":
            return env_value, "environment"
    if setting is None:
        setting = load_settings().device
    value = (setting or "auto").strip().lower()
    if not _DEVICE_PATTERN.match(value):
        raise DeviceError(
            f"the saved compute device {value!r} is not a device; choose one in Preferences, "
            f"or set \"device\" in {settings_location()} to auto, cpu, cuda, cuda:N or mps"
        )
    return value, ("settings" if value != "auto" else "auto")


def _cuda_count() -> int:
    torch = load_torch()

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def _mps_available() -> bool:
    torch = load_torch()

    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def select_device(setting: str | None = None) -> str:
    """The torch device string to use: the request if present on this machine, else the best available."""
    wanted, source = requested_device(setting)
    if wanted == "auto":
        if _cuda_count() > 0:
            return "cuda"
        return "mps" if _mps_available() else "cpu"
    if wanted.startswith("cuda"):
        index = int(wanted.partition(":")[2] or 0)
        count = _cuda_count()
        if index >= count:
            raise DeviceError(
                f"{wanted} was requested ({source}) but this machine has {count} CUDA device(s); "
                f"set {ENV_VARIABLE} or the Preferences device to auto or cpu"
            )
    if wanted == "mps" and not _mps_available():
        raise DeviceError(f"mps was requested ({source}) but Apple MPS is not available on this machine")
    return wanted


def recommended_threads(reserve_for_gui: bool) -> int:
    """Intra-op threads: all cores for batch work; one core left free for the GUI when it is running."""
    cores = os.cpu_count() or 1
    return max(1, cores - 1) if reserve_for_gui else cores


def configure_threads(reserve_for_gui: bool = False) -> int:
    """Set torch's thread pools once per process; returns the intra-op thread count in use."""
    global _threads_configured
    torch = load_torch()
    with _threads_lock:
        if not _threads_configured:
            torch.set_num_threads(recommended_threads(reserve_for_gui))
            # RuntimeError: the inter-op pool already started by earlier torch work; intra-op still applies
            with contextlib.suppress(RuntimeError):
                torch.set_num_interop_threads(1 if (os.cpu_count() or 1) <= 4 else 2)
            _threads_configured = True
        return torch.get_num_threads()


def detect_device(setting: str | None = None, reserve_for_gui: bool = False) -> DeviceInfo:
    """Select the device, configure threads and describe the result."""
    torch = load_torch()
    setting = load_settings().device if setting is None else setting
    _, source = requested_device(setting)
    device = select_device(setting)
    threads = configure_threads(reserve_for_gui)
    if device.startswith("cuda"):
        name = torch.cuda.get_device_name(torch.device(device))
    elif device == "mps":
        name = "Apple MPS"
    else:
        import platform

        name = platform.processor() or platform.machine() or "CPU"
    return DeviceInfo(device=device, name=name, threads=threads, source=source)
