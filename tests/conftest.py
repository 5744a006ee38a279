"""Test set-up: offscreen Qt, and user data, settings and logs in a throw-away folder."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_sandbox = tempfile.mkdtemp(prefix="medstation-tests-")
os.environ["MEDSTATION_HOME"] = os.path.join(_sandbox, "home")
os.environ["XDG_CONFIG_HOME"] = os.path.join(_sandbox, "config")
os.environ.pop("MEDSTATION_DEVICE", None)


SHARED_DATA = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def shared_path():
    """``shared_path(*parts)``: a path under ``../shared/data``; skips the test, saying why, when it is absent."""

    def locate(*parts: str) -> Path:
        path = SHARED_DATA.joinpath(*parts)
        if not path.exists():
            pytest.skip(f"needs the shared real data at {path} (see docs/data.md)")
        return path

    return locate


@pytest.fixture(params=[0o022, 0o027])
def umask(request):
    """The process's umask set to a usual (022) and a stricter (027) value for the test."""
    previous = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(previous)


@pytest.fixture
def untrained_classifier_bundle(tmp_path, monkeypatch) -> str:
    """Name of an untrained bundle (see ``bundle_factory``) in a fresh user models folder, for wiring tests."""
    from bundle_factory import untrained_bundle

    monkeypatch.setenv("MEDSTATION_HOME", str(tmp_path / "home"))
    untrained_bundle(tmp_path / "home" / "models" / "wiring-test")
    return "wiring-test"


# PACS tests: a real Orthanc in a private network namespace (private_network.py, pacs_fixtures.py).
from pacs_fixtures import fresh_orthanc, orthanc, pacs_home, seeded  # noqa: E402, F401
from private_network import (  # noqa: E402, F401
    pytest_collection_finish,
    pytest_pyfunc_call,
    pytest_runtest_logreport,
    pytest_sessionfinish,
)
