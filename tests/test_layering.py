"""Importing core, io and engine (and the command-line modules) runs no Qt, and starting a face pulls in no heavy
library.

The import contracts in pyproject.toml (``lint-imports``, docs/design.md §1.1) forbid Qt imports below the ui
layer statically, wherever they are written; these tests check what actually runs at import time, third-party
imports included. core and io never import torch, MONAI or SimpleITK at their top. The model families' modules
import torch and MONAI at theirs (through the engine's import lock), so what a face imports before it does any
work must stay free of them: the command line and its commands, and everything the workstation imports before its
first paint (docs/design.md §5).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

HEAVY = ("torch", "monai", "captum", "SimpleITK")

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
    if package == 'medstation.io':
        print('core and io:', sorted(m for m in HEAVY if m in sys.modules))
for name in ('medstation.cli', 'medstation.progress', 'medstation.errors', 'medstation.logs', 'medstation.selftest'):
    importlib.import_module(name)
print(len(names))
"""

FACES = """
import importlib, pkgutil, sys
import medstation.cli, medstation.commands, medstation.selftest
for info in pkgutil.walk_packages(medstation.commands.__path__, 'medstation.commands.'):
    importlib.import_module(info.name)
from medstation.engine.families import FAMILIES
for row in FAMILIES:
    row.recipe_class()
    importlib.import_module(row.module)
import medstation.ui.app
print(sorted(m for m in HEAVY if m in sys.modules))
"""


def _run(probe: str) -> list[str]:
    environment = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([sys.executable, "-c", f"HEAVY = {HEAVY!r}\n{probe}"], capture_output=True, text=True,
                            timeout=300, env=environment)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()


@pytest.mark.slow
def test_lower_layers_import_without_qt_and_core_and_io_without_heavy_libraries():
    core_and_io, count = _run(PROBE)
    assert core_and_io == "core and io: []"
    assert int(count) >= 3


def test_the_command_line_and_the_workstation_start_without_heavy_libraries():
    assert _run(FACES) == ["[]"]
