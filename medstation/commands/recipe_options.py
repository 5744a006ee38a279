"""``medstation train KIND`` options made from the recipe's settings (:mod:`medstation.engine.recipes`).

Each setting becomes ``--NAME``: an ``int``, ``float`` or ``str`` field is typed by argparse; a tuple field is
written with commas (``--widths 8,16,32,64``, ``--modalities DX,CR``), and a fixed-length one takes one number for
every place (``--size 64`` is 64x64). An option left out keeps the recipe's default, which its help shows.

Every family also takes the torchrun options (:func:`add_launcher_options`), as do ``classify --results`` and
``forecast --out`` (sharded batch inference): with ``--nproc-per-node`` the command starts its workers
(:func:`launch_workers`, :mod:`medstation.engine.runtime.distributed`), each running the same command line.
"""

from __future__ import annotations

import argparse
import types
import typing
from dataclasses import Field, replace
from typing import Any

from medstation.engine.recipes import Setting, recipe_settings
from medstation.errors import UnreadableInput

LAUNCHER_OPTIONS = ("nproc_per_node", "nnodes", "node_rank", "rdzv_endpoint")

_SCALARS = (int, float, str)


def _flag(item: Field, setting: Setting) -> str:
    return "--" + (setting.flag or item.name).replace("_", "-")


def _dest(item: Field, setting: Setting) -> str:
    return (setting.flag or item.name).replace("-", "_")


def _value_type(hint: Any) -> tuple[type, int | None] | type:
    """``int``, ``float`` or ``str`` for a scalar field; ``(item type, length or None)`` for a tuple field."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        present = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        hint = present[0] if len(present) == 1 else hint
    if hint in _SCALARS:
        return hint
    items = typing.get_args(hint)
    if typing.get_origin(hint) is tuple and items:
        if len(items) == 2 and items[1] is Ellipsis and items[0] in _SCALARS:
            return items[0], None
        if len(set(items)) == 1 and items[0] in _SCALARS:
            return items[0], len(items)
    raise TypeError(f"a recipe setting must be an int, float, str or a tuple of one of those, got {hint}")


def _shown(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)


def _help(item: Field, setting: Setting) -> str:
    if "default" in setting.help or item.default is None or item.default == ():
        return setting.help
    return f"{setting.help} (default {_shown(item.default)})"


def _settings(recipe: type) -> list[tuple[Field, Setting, Any]]:
    hints = typing.get_type_hints(recipe)
    return [(item, setting, _value_type(hints[item.name])) for item, setting in recipe_settings(recipe)]


def add_recipe_options(parser: argparse.ArgumentParser, recipe: type) -> None:
    """One option per setting of the dataclass ``recipe``; each defaults to None (the recipe's own default)."""
    for item, setting, value_type in _settings(recipe):
        parser.add_argument(
            _flag(item, setting),
            dest=_dest(item, setting),
            type=value_type if value_type in _SCALARS else str,
            choices=setting.choices,
            metavar=setting.metavar,
            help=_help(item, setting),
        )


def _parse_tuple(text: str, item_type: type, length: int | None, flag: str) -> tuple:
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if item_type is str:
        return tuple(parts)
    try:
        values = tuple(item_type(part) for part in parts)
    except ValueError:
        kind = "whole numbers" if item_type is int else "numbers"
        raise UnreadableInput(f"{flag} must be {kind} separated by commas, got {text!r}") from None
    if not values or min(values) <= 0:
        raise UnreadableInput(f"{flag} must be positive, got {text!r}")
    if length is not None:
        if len(values) == 1:
            return values * length
        if len(values) != length:
            raise UnreadableInput(f"{flag} takes one number for every side or {length} numbers, got {text!r}")
    return values


def recipe_from_args(recipe: type, args: argparse.Namespace) -> Any:
    """The default ``recipe`` with the settings given on the command line; UnreadableInput for a malformed one."""
    changes = {}
    for item, setting, value_type in _settings(recipe):
        value = getattr(args, _dest(item, setting))
        if value is None:
            continue
        if value_type not in _SCALARS:
            value = _parse_tuple(value, *value_type, _flag(item, setting))
        changes[item.name] = value
    return replace(recipe(), **changes)


def add_launcher_options(parser: argparse.ArgumentParser, work: str = "train") -> None:
    """``--nproc-per-node N [--nnodes M --node-rank R --rdzv-endpoint HOST:PORT]`` (docs/scale-out.md); ``work``
    says what the workers do in the help (``train``, ``forecast``, ...)."""
    what = "training" if work == "train" else "sharded batch inference"
    launcher = parser.add_argument_group(f"{what} on several processes (torchrun)")
    launcher.add_argument("--nproc-per-node", type=int, metavar="N",
                          help=f"{work} in N worker processes on this node (one per GPU, or CPU processes)")
    launcher.add_argument("--nnodes", metavar="M", help="machines taking part (default 1)")
    launcher.add_argument("--node-rank", type=int, metavar="R", help="this machine's number, 0 to M-1 (default 0)")
    launcher.add_argument("--rdzv-endpoint", metavar="HOST:PORT",
                          help="where the machines meet (the first node's address); needed with --nnodes above 1")


def worker_command(args: argparse.Namespace) -> list[str]:
    """The command (``train KIND``, ``forecast PATH``, ...) and every option given, as each torchrun worker runs
    it."""
    words = [args.command]
    if getattr(args, "kind", None):
        words.append(args.kind)
    if getattr(args, "path", None) is not None:
        words.append(str(args.path))
    for name, value in vars(args).items():
        if name in ("command", "kind", "path") or value is None or value is False:
            continue
        words.append(f"--{name.replace('_', '-')}")
        if value is not True:
            words.append(str(value))
    return words


def launch_workers(args: argparse.Namespace, after_failure: str = "nothing was written", job: str = "training") -> bool:
    """With ``--nproc-per-node`` in a process torchrun did not start: run the workers and return True once they
    have all ended (MedStationError ``distributed JOB failed: ...`` ending with ``after_failure`` when one fails).
    False where this process is to do the work: a worker, or a command without ``--nproc-per-node``."""
    from medstation.engine.runtime import launch, launched

    if args.nproc_per_node is None:
        if any(getattr(args, name) is not None for name in LAUNCHER_OPTIONS):
            raise UnreadableInput("--nnodes, --node-rank and --rdzv-endpoint go with --nproc-per-node")
        return False
    if launched():
        return False
    launch(worker_command(args), args.nproc_per_node, args.nnodes or "1", args.node_rank or 0, args.rdzv_endpoint,
           after_failure, job)
    return True
