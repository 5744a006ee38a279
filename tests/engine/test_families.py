"""The registry of model families: every row's package and command module are complete, bundle tasks come from the
rows, and a fourth family is a new folder plus one row."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import textwrap

import pytest

from medstation.engine.bundles import metadata_problems
from medstation.engine.families import FAMILIES, FamilyRegistry, ModelFamily
from medstation.errors import ModelError
from medstation.lazy_exports import lazy_exports

ENGINE_PACKAGES = ("bundles", "runtime", "classifier", "saliency", "forecaster", "generator")


def test_the_rows_are_the_three_families_each_with_its_task():
    assert [(row.name, row.task) for row in FAMILIES] == [
        ("classifier", "classification"), ("forecaster", "forecasting"), ("generator", "generation")
    ]
    assert FAMILIES.tasks == ("classification", "forecasting", "generation")
    assert FAMILIES.for_task("generation") is FAMILIES["generator"]
    assert FAMILIES.for_task("segmentation") is None


def test_every_row_names_a_complete_package_and_command_module():
    for row in FAMILIES:
        package = row.package()
        for verb in (f"load_{row.name}", f"train_{row.name}", f"evaluate_{row.name}"):
            assert callable(getattr(package, verb)), (row.name, verb)
        assert row.recipe_class() is getattr(package, row.recipe)
        row.command_module()
        assert row.available, row.missing()


def test_every_name_an_engine_package_exports_resolves_and_importing_the_packages_imports_no_torch():
    probe = (
        "import importlib, sys\n"
        f"packages = [importlib.import_module('medstation.engine.' + name) for name in {ENGINE_PACKAGES!r}]\n"
        "print(sorted(m for m in ('torch', 'monai', 'PySide6') if m in sys.modules))\n"
        "for package in packages:\n"
        "    for export in package.__all__:\n"
        "        getattr(package, export)\n"
        "    assert set(package.__all__) <= set(dir(package))\n"
        "print('PySide6' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["[]", "False"]


def test_reading_the_rows_and_recipes_imports_no_numpy():
    probe = (
        "import sys\n"
        "from medstation.engine.families import FAMILIES\n"
        "recipes = [row.recipe_class().__name__ for row in FAMILIES]\n"
        "print(recipes, 'numpy' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['TrainingRecipe', 'ForecasterRecipe', 'GeneratorRecipe'] False"


def test_a_package_that_lacks_a_verb_is_named_when_used():
    row = ModelFamily("classifier", "classification", "x", "medstation.engine.saliency", "TrainingRecipe",
                      "medstation.commands.models", (), "none")
    with pytest.raises(AttributeError, match="load_classifier, train_classifier, evaluate_classifier"):
        row.package()
    with pytest.raises(AttributeError, match="add_train_options"):
        row.command_module()


def test_a_family_whose_libraries_are_missing_says_which():
    row = ModelFamily("toy", "toying", "x", "toy", "Recipe", "toy", ("json", "no_such_library_here"), "none")
    assert row.missing() == ["no_such_library_here"]
    with pytest.raises(ModelError, match="the toy needs no_such_library_here"):
        row.require()


def test_rows_may_not_share_a_name_or_a_task():
    registry = FamilyRegistry()
    registry.add(FAMILIES["classifier"])
    with pytest.raises(ValueError, match="clashes"):
        registry.add(FAMILIES["classifier"])
    with pytest.raises(ValueError, match="clashes"):
        registry.add(ModelFamily("labeller", "classification", "x", "m", "R", "c", (), "none"))
    with pytest.raises(KeyError, match="the families are classifier"):
        registry["segmenter"]


def test_lazy_exports_refuse_a_name_two_modules_claim():
    with pytest.raises(ValueError, match="both"):
        lazy_exports("somewhere", {"a": ("load",), "b": ("load",)})


def test_a_bundle_task_must_belong_to_a_family_and_meets_that_family_s_needs():
    document = {"version": "1.0.0", "task": "segmentation", "training_data": {"name": "x"}, "metrics": {},
                "weights": {"sha256": "0" * 64}}
    assert any(line.startswith("'task' must be one of classification, forecasting, generation") for line in
               metadata_problems(document))
    assert metadata_problems({**document, "task": "forecasting"}) == []
    problems = metadata_problems({**document, "task": "classification"})
    assert any(line.startswith("'labels'") for line in problems) and any(line.startswith("'input'") for line in
                                                                         problems)


def test_a_loader_refuses_a_bundle_of_another_family(untrained_classifier_bundle):
    from medstation.engine.forecaster import load_forecaster
    from medstation.engine.generator import load_generator

    for load, family in ((load_forecaster, "forecaster"), (load_generator, "generator")):
        with pytest.raises(ModelError, match=f"a classification bundle, not a {family}; choose a "):
            load(untrained_classifier_bundle)


def test_a_family_lists_the_bundles_of_its_task(untrained_classifier_bundle, tmp_path):
    (tmp_path / "home" / "models" / "half-copied").mkdir()
    classifiers = {entry.name for entry in FAMILIES["classifier"].bundles()}
    assert {untrained_classifier_bundle, FAMILIES["classifier"].shipped} <= classifiers
    assert FAMILIES["forecaster"].shipped not in classifiers and "half-copied" not in classifiers
    assert "half-copied" in {entry.name for entry in FAMILIES["classifier"].bundles(unreadable=True)}
    assert [entry.name for entry in FAMILIES["generator"].bundles()] == [FAMILIES["generator"].shipped]


TOY_PACKAGE = {
    "__init__.py": """
        from medstation.lazy_exports import lazy_exports

        __all__, __getattr__, __dir__ = lazy_exports(__name__, {
            "recipe": ("ToyRecipe",),
            "verbs": ("evaluate_toy", "load_toy", "train_toy"),
        })
    """,
    "recipe.py": """
        from dataclasses import dataclass

        from medstation.engine.recipes import setting


        @dataclass(frozen=True)
        class ToyRecipe:
            depth: int = setting(2, "layers of the toy network")
            rate: float = setting(0.1, "learning rate")
            shape: tuple[int, int] | None = setting(None, "image size (default: as stored)", flag="size")
            quiet: bool = False
    """,
    "verbs.py": """
        def load_toy(name):
            return name


        def train_toy(recipe):
            return {"trained": recipe.depth}


        def evaluate_toy(model):
            return {"model": model}
    """,
    "commands.py": """
        import json

        from medstation.commands.output import training_command
        from medstation.commands.recipe_options import recipe_from_args
        from medstation.engine.families import FAMILIES


        def add_train_options(parser):
            parser.add_argument("--notes")


        def run_train(args):
            recipe = recipe_from_args(FAMILIES["toy"].recipe_class(), args)
            print(json.dumps({"recipe": [recipe.depth, recipe.rate, recipe.shape], "command": training_command(args)}))
            return 0


        def add_evaluate_options(parser):
            parser.add_argument("--split", default="test")


        def run_evaluate(args):
            print(json.dumps({"model": args.model, "split": args.split}))
            return 0
    """,
}


@pytest.fixture
def toy_family(tmp_path, monkeypatch):
    """A fourth family: the folder ``toyfamily/`` on the path and one row in the registry."""
    folder = tmp_path / "toyfamily"
    folder.mkdir()
    for name, text in TOY_PACKAGE.items():
        (folder / name).write_text(textwrap.dedent(text))
    monkeypatch.syspath_prepend(str(tmp_path))
    row = ModelFamily(name="toy", task="toying", summary="toy model", module="toyfamily", recipe="ToyRecipe",
                      commands="toyfamily.commands", requires=("json",), shipped="toy-1")
    monkeypatch.setitem(FAMILIES._rows, "toy", row)
    yield row
    for name in [name for name in sys.modules if name.startswith("toyfamily")]:
        del sys.modules[name]
    importlib.invalidate_caches()


def test_a_fourth_family_is_a_folder_and_a_row(toy_family, capsys):
    from medstation.cli import main

    assert toy_family.package().train_toy(toy_family.recipe_class()()) == {"trained": 2}
    assert main(["train", "toy", "--data", "d", "--out", "o", "--depth", "5", "--size", "12", "--notes", "n"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["recipe"] == [5, 0.1, [12, 12]]
    assert printed["command"] == "medstation train toy --data d --out o --depth 5 --size 12 --notes n"
    assert main(["evaluate", "toy", "--model", "m", "--data", "d"]) == 0
    assert json.loads(capsys.readouterr().out) == {"model": "m", "split": "test"}
    assert main(["train", "toy", "--help"]) == 0
    shown = capsys.readouterr().out
    assert "--depth DEPTH" in shown and "layers of the toy network (default 2)" in shown and "--quiet" not in shown
    document = {"version": "1.0.0", "task": "toying", "training_data": {"name": "x"}, "metrics": {},
                "weights": {"sha256": "0" * 64}}
    assert metadata_problems(document) == []
