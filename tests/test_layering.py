"""Importing core, io and engine (and the command-line modules) runs no Qt and pulls in no heavy library.

The import contracts in pyproject.toml (``lint-imports``, docs/design.md §1.1) forbid Qt imports below the ui
layer statically, wherever they are written; this test checks what actually runs at import time, third-party
imports included, and that torch, MONAI and SimpleITK wait until a function needs them.
"""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import importlib, pkgutil, sys

class BlockQt:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('PySide6', 'shiboken6', 'pyqtgraph'):
            raise ImportError(f'{name} is not allowed below the ui layer')
        return None

sys.meta_path.insert(0, BlockQt())
import medstation
names = []
for package in ('medstation.core', 'medstation.io', 'medstation.engine'):
    module = importlib.import_module(package)
    for info in pkgutil.walk_packages(module.__path__, package + '.'):
        importlib.import_module(info.name)
        names.append(info.name)
for name in ('medstation.cli', 'medstation.progress', 'medstation.errors', 'medstation.logs', 'medstation.selftest'):
    importlib.import_module(name)
print(len(names), sorted(m for m in ('torch', 'monai', 'SimpleITK') if m in sys.modules))
"""


def test_lower_layers_import_without_qt_and_without_heavy_libraries():
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    count, heavy = result.stdout.split(" ", 1)
    assert int(count) >= 3
    assert heavy.strip() == "[]"
