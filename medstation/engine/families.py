"""The model families MedStation knows, one row each: the one place a family is named.

A row says what a family is called (the word after ``medstation train`` and ``evaluate``), which bundle task it
owns, which package holds its verbs and which module its command-line face, what it needs installed and which
bundle ships with it. As with pydicom's decoder plugins, packages are named by import path and imported on first
use, so reading the table costs nothing (``medstation --help`` imports no numpy or torch); whether a family is
available is checked without importing its libraries (:meth:`ModelFamily.missing`).

Everything else is built from the rows: ``medstation train`` / ``evaluate`` and their options (from the recipe's
fields), the tasks a bundle may declare and what each needs in its metadata, the bundles a panel lists, and the
check that a bundle handed to a loader is of the right family.

A fourth family, say ``segmenter`` for the task ``segmentation``, is its package ``medstation/engine/segmenter/``
(its ``__init__`` exporting ``load_segmenter``, ``train_segmenter``, ``evaluate_segmenter`` and its recipe, a
dataclass whose user-chosen fields are declared with :func:`medstation.engine.recipes.setting`), its command-line
face ``medstation/commands/segmenter.py`` (:data:`COMMAND_VERBS`: how it reads its data and prints its results)
and one more ``FAMILIES.add(ModelFamily(...))`` below.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

from medstation.errors import ModelError

if TYPE_CHECKING:
    from medstation.engine.bundles import Bundle, BundleEntry

PACKAGE_VERBS = ("load_{name}", "train_{name}", "evaluate_{name}")
"""What a family's package exports (in its ``__all__``) besides its recipe class."""
COMMAND_VERBS = ("add_train_options", "run_train", "add_evaluate_options", "run_evaluate")
"""What a family's command module defines: its own train and evaluate options (beyond ``--data``, ``--out``,
``--model``, the recipe's settings, ``--overwrite`` and ``--json``), and the two commands."""


@dataclass(frozen=True)
class ModelFamily:
    """One family of models.

    ``module`` and ``commands`` are import paths, imported on first use; ``recipe`` is the name of the package's
    recipe class. ``requires`` are the top-level libraries its verbs import. ``labels_required`` and
    ``input_required`` say whether its bundles' ``metadata.json`` must have ``labels`` and ``input``.
    """

    name: str
    task: str
    summary: str
    module: str
    recipe: str
    commands: str
    requires: tuple[str, ...]
    shipped: str
    labels_required: bool = False
    input_required: bool = False

    def missing(self) -> list[str]:
        """The libraries of :attr:`requires` that are not installed (found without importing them)."""
        return [library for library in self.requires if importlib.util.find_spec(library) is None]

    @property
    def available(self) -> bool:
        return not self.missing()

    def require(self) -> None:
        """ModelError naming what is missing unless every library the family needs is installed."""
        missing = self.missing()
        if missing:
            raise ModelError(
                f"the {self.name} needs {', '.join(missing)}, which this installation lacks; reinstall MedStation "
                "with its dependencies (pip install medstation)"
            )

    def package(self) -> ModuleType:
        """The family's package, checked to export its verbs and its recipe."""
        package = importlib.import_module(self.module)
        needed = [verb.format(name=self.name) for verb in PACKAGE_VERBS] + [self.recipe]
        absent = [name for name in needed if name not in getattr(package, "__all__", ())]
        if absent:
            raise AttributeError(f"{self.module} does not export {', '.join(absent)}, which the {self.name} row needs")
        return package

    def recipe_class(self) -> type:
        """The family's recipe dataclass (its module alone is imported, not the rest of the family)."""
        return getattr(importlib.import_module(self.module), self.recipe)

    def command_module(self) -> ModuleType:
        """The module of the family's command-line face, checked to define :data:`COMMAND_VERBS`."""
        module = importlib.import_module(self.commands)
        absent = [verb for verb in COMMAND_VERBS if not callable(getattr(module, verb, None))]
        if absent:
            raise AttributeError(f"{self.commands} does not define {', '.join(absent)}, which the {self.name} needs")
        return module

    def check(self, bundle: Bundle) -> None:
        """ModelError unless ``bundle`` is one of this family's (its metadata's task is :attr:`task`)."""
        task = bundle.metadata.task
        if task != self.task:
            raise ModelError(
                f"{bundle.root}: a {task} bundle, not a {self.name}; choose a {self.task} bundle "
                "('medstation models' lists them)"
            )

    def bundles(self, unreadable: bool = False) -> list[BundleEntry]:
        """The installed bundles of this family's task, weights checksummed, each valid or with its problem;
        with ``unreadable``, also those whose metadata could not be read (so their task is unknown)."""
        from medstation.engine.bundles import list_bundles

        return [
            entry
            for entry in list_bundles()
            if (entry.metadata.task == self.task if entry.metadata is not None else unreadable)
        ]


class FamilyRegistry:
    """The rows, by name; each name and each task belongs to one family."""

    def __init__(self) -> None:
        self._rows: dict[str, ModelFamily] = {}

    def add(self, family: ModelFamily) -> None:
        """Add a row (not thread-safe: rows are added when this module is imported)."""
        if not family.name.isidentifier():
            raise ValueError(f"a family name must be a Python identifier, got {family.name!r}")
        for row in self._rows.values():
            if family.name == row.name or family.task == row.task:
                raise ValueError(f"the {family.name} row clashes with the {row.name} row (name or task)")
        self._rows[family.name] = family

    def __getitem__(self, name: str) -> ModelFamily:
        try:
            return self._rows[name]
        except KeyError:
            raise KeyError(f"no model family {name!r}; the families are {', '.join(self._rows)}") from None

    def __iter__(self) -> Iterator[ModelFamily]:
        return iter(self._rows.values())

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def tasks(self) -> tuple[str, ...]:
        """The bundle tasks the families own, in row order."""
        return tuple(row.task for row in self._rows.values())

    def for_task(self, task: str) -> ModelFamily | None:
        """The family that owns bundle task ``task``, None for a task no family owns."""
        return next((row for row in self._rows.values() if row.task == task), None)


FAMILIES = FamilyRegistry()
FAMILIES.add(ModelFamily(
    name="classifier",
    task="classification",
    summary="CNN image classifier",
    module="medstation.engine.classifier",
    recipe="TrainingRecipe",
    commands="medstation.commands.classifier",
    requires=("torch", "monai", "matplotlib"),
    shipped="pneumonia-cxr-resnet18",
    labels_required=True,
    input_required=True,
))
FAMILIES.add(ModelFamily(
    name="forecaster",
    task="forecasting",
    summary="LSTM trend forecaster and risk model",
    module="medstation.engine.forecaster",
    recipe="ForecasterRecipe",
    commands="medstation.commands.forecaster",
    requires=("torch", "captum", "sklearn"),
    shipped="icu-trend-lstm",
))
FAMILIES.add(ModelFamily(
    name="generator",
    task="generation",
    summary="GAN generator of synthetic images",
    module="medstation.engine.generator",
    recipe="GeneratorRecipe",
    commands="medstation.commands.generator",
    requires=("torch", "monai"),
    shipped="cxr-gan",
    input_required=True,
))
