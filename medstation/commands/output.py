"""Shared printing for command handlers: one JSON object on stdout, skipped files on stderr."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from medstation.errors import MedStationError, reason_without_path


def print_json(payload: dict) -> None:
    print(json.dumps(payload, default=str))


def print_warning(message: str) -> None:
    """One ``warning: ...`` line on stderr (never on stdout, which ``--json`` keeps for its object)."""
    print(f"warning: {message}", file=sys.stderr)


def skipped_entry(path: str | Path, message: str, **fields) -> dict:
    """Name a skipped input once with its reason on stderr ("skipped PATH: reason"); return its entry of the JSON
    ``skipped`` list: ``path``, the ``fields`` given, ``reason``."""
    reason = reason_without_path(path, message)
    print(f"skipped {path}: {reason}", file=sys.stderr)
    return {"path": str(path), **fields, "reason": reason}


def skipped_entries(skipped: list[tuple[Path, str]]) -> list[dict]:
    """Name every skipped file with its reason on stderr; return them for the JSON ``skipped`` list."""
    return [skipped_entry(path, reason) for path, reason in skipped]


NOT_RECORDED = frozenset({"command", "kind", "json", "progress", "overwrite"})
"""What ``medstation train`` parses that does not change the trained model: left out of the recorded command."""


def training_command(args: argparse.Namespace) -> str:
    """``medstation train KIND`` as it was typed, every option given in the order the command lists them (output
    switches such as --json left out), for the bundle to record how it was made."""
    words = ["medstation", "train", args.kind]
    for name, value in vars(args).items():
        if name in NOT_RECORDED or value is None or value is False:
            continue
        words.append(f"--{name.replace('_', '-')}")
        if value is not True:
            words.append(str(value))
    return shlex.join(words)


def refuse_writing_into_source(source: str | Path, out: str | Path) -> None:
    """Stop before ``out`` replaces the input file ``source`` or lands inside the input folder ``source``: MedStation
    never changes what it reads."""
    source, target = Path(source).resolve(), Path(out).resolve()
    if target == source:
        raise MedStationError(f"{out}: this is the input file; write the output to another path")
    if source.is_dir() and source in target.parents:
        raise MedStationError(f"{out}: inside the input folder {source}, which is never changed; write elsewhere")
