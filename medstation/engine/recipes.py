"""The settings of a training recipe: the recipe fields a user may choose, each described where it is declared.

A recipe is a frozen dataclass of everything besides the data that decides a training run, its defaults the
shipped model's. A field declared with :func:`setting` is one a user may choose: ``medstation train KIND``
offers it as ``--NAME`` (the field's name with dashes, or ``flag``), of the field's type, with ``help`` and the
field's default in its help text. Adding a field that way is the whole change: the option, its parsing and its
place in the recorded training command follow. Fields declared without it keep their default.
"""

from __future__ import annotations

from dataclasses import Field, dataclass, field, fields
from typing import Any

SETTING = "medstation.setting"
"""The key of a field's metadata that holds its :class:`Setting`."""


@dataclass(frozen=True)
class Setting:
    """How a user-chosen recipe field is offered: its help text (units included), and optionally its flag name
    (without dashes), the placeholder shown for its value and the values it may take."""

    help: str
    flag: str | None = None
    metavar: str | None = None
    choices: tuple[str, ...] | None = None


def setting(
    default: Any,
    help: str,
    *,
    flag: str | None = None,
    metavar: str | None = None,
    choices: tuple[str, ...] | None = None,
) -> Any:
    """A recipe field a user may choose, with its default and how it is offered (see :class:`Setting`)."""
    return field(default=default, metadata={SETTING: Setting(help, flag, metavar, choices)})


def recipe_settings(recipe: type) -> list[tuple[Field, Setting]]:
    """The user-chosen fields of the dataclass ``recipe``, in declaration order, each with its :class:`Setting`."""
    return [(item, item.metadata[SETTING]) for item in fields(recipe) if SETTING in item.metadata]
