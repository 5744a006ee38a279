"""Set up MedStation in ``.venv`` and run it or its tests; needs only Python 3.10+.

    python3 packaging/bootstrap.py run [PATH]   launch the workstation
    python3 packaging/bootstrap.py test         ruff check, the import contracts (lint-imports), the whole test suite
    python3 packaging/bootstrap.py --cpu run    the same, installing the CPU build of PyTorch (--gpu: PyPI's build)

The virtual environment is created on first use and refreshed when pyproject.toml changes. On a machine without an
NVIDIA driver (no ``nvidia-smi``, no /proc/driver/nvidia) on Linux or Windows, PyTorch's CPU build is installed
first (about 200 MB instead of several GB of CUDA libraries); --cpu and --gpu override that guess.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
STAMP = VENV / ".medstation-installed"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
LINT_IMPORTS = BIN / ("lint-imports.exe" if os.name == "nt" else "lint-imports")
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def _fail(message: str) -> None:
    print(f"bootstrap: {message}", file=sys.stderr)
    sys.exit(1)


def _project_hash() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def has_nvidia_driver() -> bool:
    """An NVIDIA driver is installed (its kernel module or its ``nvidia-smi``)."""
    return Path("/proc/driver/nvidia").exists() or shutil.which("nvidia-smi") is not None


def wants_cpu_torch(torch_build: str | None = None) -> bool:
    """Install PyTorch's CPU build: asked for, or guessed on Linux/Windows without an NVIDIA driver (macOS wheels
    on PyPI carry no CUDA anyway)."""
    if torch_build is not None:
        return torch_build == "cpu"
    return sys.platform != "darwin" and not has_nvidia_driver()


def ensure_environment(torch_build: str | None = None) -> None:
    """Create .venv and install MedStation with its development extras when needed.

    ``torch_build`` is "cpu" or "gpu"; None guesses it from the machine (:func:`wants_cpu_torch`)."""
    if sys.version_info < (3, 10):  # noqa: UP036 - this script may be started by an older Python
        _fail(f"Python 3.10 or newer is needed; this is {sys.version.split()[0]}")
    if not PYTHON.exists():
        print(f"bootstrap: creating {VENV}", file=sys.stderr)
        try:
            venv.EnvBuilder(with_pip=True).create(VENV)
        except (OSError, subprocess.CalledProcessError) as error:
            _fail(f"could not create {VENV} ({error}); on Debian/Ubuntu install python3-venv first")
    if STAMP.exists() and STAMP.read_text() == _project_hash():
        return
    print("bootstrap: installing MedStation and its dependencies into .venv", file=sys.stderr)
    pip = [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    if wants_cpu_torch(torch_build):
        print(f"bootstrap: no NVIDIA driver found (or --cpu): installing PyTorch's CPU build from {TORCH_CPU_INDEX}",
              file=sys.stderr)
        subprocess.run([*pip, "torch", "--index-url", TORCH_CPU_INDEX], check=True)
    subprocess.run([*pip, "-e", f"{ROOT}[dev]"], check=True)
    STAMP.write_text(_project_hash())


def main(argv: list[str]) -> int:
    torch_build = None
    while argv and argv[0] in ("--cpu", "--gpu"):
        torch_build, argv = argv[0][2:], argv[1:]
    if not argv or argv[0] not in ("run", "test"):
        print(__doc__, file=sys.stderr)
        return 2
    ensure_environment(torch_build)
    os.chdir(ROOT)
    if argv[0] == "run":
        return subprocess.call([str(PYTHON), "-m", "medstation", *argv[1:]])
    lint = subprocess.call([str(PYTHON), "-m", "ruff", "check", "."])
    if lint:
        return lint
    # The architecture contracts of pyproject.toml [tool.importlinter] (docs/design.md §1.1).
    contracts = subprocess.call([str(LINT_IMPORTS), "--no-cache", "--no-logo"])
    if contracts:
        return contracts
    return subprocess.call([str(PYTHON), "-m", "pytest", *argv[1:]])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
