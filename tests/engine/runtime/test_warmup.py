"""The workstation's warm-up loads every heavy module the engine's modules import at their top, and the modules."""

from __future__ import annotations

import subprocess
import sys

import pytest

from medstation.engine.runtime.warmup import engine_module_names

PROBE = """
import importlib, sys
from medstation.engine.runtime.libraries import load_engine_libraries
from medstation.engine.runtime.warmup import engine_module_names

def heavy():
    return {name for name in sys.modules if name.partition('.')[0] in ('torch', 'monai', 'captum')}

load_engine_libraries()
warmed = heavy()
for name in engine_module_names():
    importlib.import_module(name)
print(sorted(heavy() - warmed))
"""


def test_the_engine_modules_are_every_module_of_the_engine():
    names = engine_module_names()
    for name in ("medstation.engine.classifier.network", "medstation.engine.saliency.cam",
                 "medstation.engine.forecaster.attribution", "medstation.engine.generator.training"):
        assert name in names
    assert all(name.startswith("medstation.engine.") for name in names)


@pytest.mark.slow
def test_the_engine_modules_import_no_heavy_module_the_warm_up_has_not_loaded():
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
