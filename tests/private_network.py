"""Tests marked ``private_network`` run inside a private network namespace, where 127.0.0.1 is the only address.

The PACS tests talk to a real Orthanc, which listens on every address it has (Orthanc 1.10 cannot bind to loopback
only). So the normal test run never talks to it: it runs the marked tests it selected once, together, in a child
pytest started under ``unshare -n sh -c 'ip link set lo up && exec python -m pytest ...'`` (a new network namespace
whose only interface is loopback; needs root or user namespaces), and each marked test then reports the outcome
its body had there: passed, skipped with the child's reason, or failed with the child's report. Inside the
namespace (``MEDSTATION_PRIVATE_NETWORK=1`` and only ``lo``) the marked tests run as usual and their outcomes are
written to the file ``MEDSTATION_PRIVATE_NETWORK_RESULTS`` names. Where the namespace cannot be made, they skip
with the reason.

``tests/conftest.py`` imports the hooks below.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from orthanc_server import in_private_network

MARKER = "private_network"
INSIDE = "MEDSTATION_PRIVATE_NETWORK"
RESULTS = "MEDSTATION_PRIVATE_NETWORK_RESULTS"
CHILD_TIMEOUT_S = 1800
_selected: list[str] = []
_recorded: dict[str, dict] = {}
_child_folders: list[Path] = []


@functools.cache
def namespace_problem() -> str | None:
    """Why a private network namespace cannot be made here (None when it can)."""
    for tool in ("unshare", "ip"):
        if shutil.which(tool) is None:
            return f"needs {tool} (util-linux, iproute2) to make a private network namespace"
    try:
        result = subprocess.run(["unshare", "-n", "sh", "-c", "ip link set lo up"], capture_output=True, text=True,
                                timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"cannot make a private network namespace ({error})"
    if result.returncode != 0:
        return f"cannot make a private network namespace (unshare -n: {result.stderr.strip() or result.returncode})"
    return None


def pytest_collection_finish(session) -> None:
    _selected[:] = [item.nodeid for item in session.items if item.get_closest_marker(MARKER)]


@functools.cache
def _child_results(rootdir: str) -> dict[str, dict]:
    """Run every selected marked test in one child pytest inside a private network namespace; their outcomes."""
    folder = Path(tempfile.mkdtemp(prefix="medstation-private-network-"))
    _child_folders.append(folder)
    results = folder / "results.json"
    env = {**os.environ, INSIDE: "1", RESULTS: str(results)}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--basetemp", str(folder / "tmp"),
               *_selected]
    shell = "ip link set lo up && exec " + " ".join(_quote(word) for word in command)
    try:
        child = subprocess.run(["unshare", "-n", "sh", "-c", shell], cwd=rootdir, env=env, capture_output=True,
                               text=True, timeout=CHILD_TIMEOUT_S)
        output = child.stdout + child.stderr
    except subprocess.TimeoutExpired as error:
        output = f"the child pytest ran past {CHILD_TIMEOUT_S} s\n{error.stdout or ''}"
    (folder / "output.txt").write_text(output)
    outcomes = json.loads(results.read_text()) if results.exists() else {}
    for nodeid in _selected:
        outcomes.setdefault(nodeid, {"outcome": "failed", "text": f"did not report inside the private network; "
                                     f"the child pytest said:\n{output[-6000:]}"})
    return outcomes


def _quote(word: str) -> str:
    import shlex

    return shlex.quote(word)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """Outside the namespace, a marked test reports what its body did inside it instead of running here."""
    if pyfuncitem.get_closest_marker(MARKER) is None or in_private_network():
        return None
    problem = namespace_problem()
    if problem is not None:
        pytest.skip(problem)
    outcome = _child_results(str(pyfuncitem.config.rootpath)).get(pyfuncitem.nodeid)
    if outcome["outcome"] == "skipped":
        pytest.skip(f"(inside the private network) {outcome['text']}")
    if outcome["outcome"] != "passed":
        pytest.fail(f"inside the private network:\n{outcome['text']}", pytrace=False)
    return True


def pytest_runtest_logreport(report) -> None:
    """Inside the namespace: keep each test's outcome (the first phase that did not pass, else the call's)."""
    if not os.environ.get(RESULTS) or not in_private_network():
        return
    known = _recorded.get(report.nodeid)
    if known is not None and known["outcome"] != "passed":
        return
    if report.when == "call" or not report.passed:
        if report.skipped and isinstance(report.longrepr, tuple):
            text = report.longrepr[2]
        else:
            text = str(report.longrepr) if report.longrepr else ""
        _recorded[report.nodeid] = {"outcome": report.outcome, "text": text[-8000:]}


def pytest_sessionfinish(session) -> None:
    """Inside: write the outcomes. Outside: remove the child's folder, kept (with its output.txt) when a test failed
    there."""
    target = os.environ.get(RESULTS)
    if target and in_private_network():
        Path(target).write_text(json.dumps(_recorded))
        return
    for folder in _child_folders:
        outcomes = _child_results(str(session.config.rootpath)).values()
        if all(outcome["outcome"] != "failed" for outcome in outcomes):
            shutil.rmtree(folder, ignore_errors=True)
