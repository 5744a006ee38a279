"""Timing belongs in benchmarks/ (docs/design.md §6): no test runs or imports a benchmark, so a busy machine fails
none."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _benchmark_references(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if node.value == "benchmarks" or node.value.startswith(("benchmarks/", "benchmarks.")):
                found.append(f"{path.relative_to(TESTS.parent)}:{node.lineno}: {node.value!r}")
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            if any(name.partition(".")[0] == "benchmarks" for name in names):
                found.append(f"{path.relative_to(TESTS.parent)}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_test_runs_a_benchmark():
    paths = [path for path in sorted(TESTS.rglob("*.py")) if path != Path(__file__).resolve()]
    found = [line for path in paths for line in _benchmark_references(path)]
    assert not found, "measure in benchmarks/ and test deterministic facts; these tests use a benchmark:\n" + "\n".join(
        found
    )
