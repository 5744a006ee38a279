"""Test set-up: offscreen Qt, and user data, settings and logs in a throw-away folder."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_sandbox = tempfile.mkdtemp(prefix="medstation-tests-")
os.environ["MEDSTATION_HOME"] = os.path.join(_sandbox, "home")
os.environ["XDG_CONFIG_HOME"] = os.path.join(_sandbox, "config")
os.environ.pop("MEDSTATION_DEVICE", None)
