"""Shared printing for command handlers: one JSON object on stdout, skipped files on stderr."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def print_json(payload: dict) -> None:
    print(json.dumps(payload, default=str))


def skipped_entries(skipped: list[tuple[Path, str]]) -> list[dict]:
    """Name every skipped file with its reason on stderr; return them for the JSON ``skipped`` list."""
    for path, reason in skipped:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    return [{"path": str(path), "reason": reason} for path, reason in skipped]
