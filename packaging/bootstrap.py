"""Set up MedStation in ``.venv`` and run it or its tests; needs only Python 3.10+.

    python3 packaging/bootstrap.py run [PATH]   launch the workstation
    python3 packaging/bootstrap.py test         ruff check, the import contracts (lint-imports), the whole test suite

The virtual environment is created on first use and refreshed when pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
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


def _fail(message: str) -> None:
    print(f"bootstrap: {message}", file=sys.stderr)
    sys.exit(1)


def _project_hash() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def ensure_environment() -> None:
    """Create .venv and install MedStation with its development extras when needed."""
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
    subprocess.run([*pip, "-e", f"{ROOT}[dev]"], check=True)
    STAMP.write_text(_project_hash())


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("run", "test"):
        print(__doc__, file=sys.stderr)
        return 2
    ensure_environment()
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
