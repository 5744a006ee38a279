"""The engine's heavy libraries are imported through one lock: one import at a time, each module once."""

from __future__ import annotations

import ast
import sys
import threading
import types
import uuid
from pathlib import Path

import pytest

from medstation.engine.runtime import libraries
from medstation.engine.runtime.libraries import engine_module

PACKAGE = Path(__file__).resolve().parents[3] / "medstation"
HEAVY = {"torch", "monai", "captum"}


def _under_type_checking(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            return True
    return False


def test_heavy_libraries_are_imported_only_through_the_engine_import_lock():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == PACKAGE / "engine" / "runtime" / "libraries.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            if any(name.partition(".")[0] in HEAVY for name in names) and not _under_type_checking(node, parents):
                found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {ast.unparse(node)}")
    assert not found, "import these through medstation.engine.runtime.libraries.engine_module:\n" + "\n".join(found)


@pytest.fixture
def fake_library(tmp_path, monkeypatch):
    """``make(body)``: the name of a new module in ``tmp_path`` running ``body``, which sees ``probe`` (a namespace
    with ``log``, ``entered`` and ``release``)."""
    probe = types.SimpleNamespace(log=[], entered=threading.Event(), release=threading.Event())
    probe_name = f"probe_{uuid.uuid4().hex}"
    monkeypatch.setitem(sys.modules, probe_name, probe)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(libraries, "_imported", set(libraries._imported))
    made = []

    def make(body: str) -> str:
        name = f"fake_library_{uuid.uuid4().hex}"
        (tmp_path / f"{name}.py").write_text(f"import {probe_name} as probe\n{body}\n", encoding="utf-8")
        made.append(name)
        return name

    yield make, probe
    for name in made:
        sys.modules.pop(name, None)


def test_an_import_waits_for_the_one_in_progress_and_each_module_runs_once(fake_library):
    make, probe = fake_library
    slow = make(
        "probe.log.append('slow started')\nprobe.entered.set()\nprobe.release.wait(30)\n"
        "probe.log.append('slow finished')\nREADY = True"
    )
    quick = make("probe.log.append('quick ran')\nREADY = True")
    results = {}

    def load(key: str, name: str) -> None:
        results[key] = engine_module(name)

    first = threading.Thread(target=load, args=("slow", slow))
    first.start()
    assert probe.entered.wait(30)
    others = [threading.Thread(target=load, args=(key, name)) for key, name in (("slow again", slow), ("quick", quick))]
    for thread in others:
        thread.start()
    others[1].join(0.5)
    probe.release.set()
    for thread in (first, *others):
        thread.join(30)
    assert probe.log == ["slow started", "slow finished", "quick ran"]
    assert results["slow"] is results["slow again"] and results["slow again"].READY
    assert results["quick"].READY


def test_a_failed_import_is_tried_again_by_the_next_caller(fake_library):
    make, probe = fake_library
    flaky = make(
        "probe.log.append('ran')\n"
        "if len(probe.log) == 1:\n"
        "    raise ImportError(\"cannot import name 'VQVAE' from partially initialized module\")\n"
        "READY = True"
    )
    with pytest.raises(ImportError, match="partially initialized"):
        engine_module(flaky)
    assert engine_module(flaky).READY
    assert engine_module(flaky) is sys.modules[flaky]
    assert probe.log == ["ran", "ran"]
