"""``medstation train KIND`` options: made from the recipe's settings, every flag of the contract kept, values parsed
as before, the training command recorded as typed."""

from __future__ import annotations

import argparse
import subprocess
import sys
from dataclasses import fields, replace

import pytest

from medstation.cli import build_parser, main
from medstation.commands.output import training_command
from medstation.commands.recipe_options import recipe_from_args
from medstation.engine.families import FAMILIES
from medstation.engine.recipes import recipe_settings

CONTRACT = {
    "classifier": {"--data", "--out", "--seed", "--steps", "--batch-size", "--learning-rate", "--patience",
                   "--architecture", "--widths", "--stem", "--size", "--labels", "--modalities", "--combine",
                   "--path-column", "--label-column", "--data-name", "--data-licence", "--data-citation",
                   "--data-population", "--overwrite", "--json", "--progress"},
    "forecaster": {"--data", "--out", "--outcomes", "--seed", "--epochs", "--members", "--risk-models", "--hidden",
                   "--test-data", "--test-outcomes", "--overwrite", "--json", "--progress"},
    "generator": {"--data", "--out", "--seed", "--epochs", "--batch-size", "--latent-dim", "--width", "--size",
                  "--labels", "--checkpoint", "--resume", "--threads", "--feature-model", "--no-evaluation",
                  "--path-column", "--label-column", "--data-name", "--data-licence", "--data-citation",
                  "--data-population", "--overwrite", "--json", "--progress"},
}


def _train_parser(kind: str) -> argparse.ArgumentParser:
    parser = build_parser()
    train = next(a for a in parser._subparsers._group_actions[0].choices["train"]._actions
                 if isinstance(a, argparse._SubParsersAction))
    return train.choices[kind]


def _args(kind: str, *argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["train", kind, "--data", "d", "--out", "o", *argv])


@pytest.mark.parametrize("kind", sorted(CONTRACT))
def test_every_flag_of_the_contract_is_offered_and_each_setting_once(kind, capsys):
    offered = [flag for action in _train_parser(kind)._actions for flag in action.option_strings]
    assert CONTRACT[kind] <= set(offered)
    assert len(offered) == len(set(offered))
    assert main(["train", kind, "--help"]) == 0
    shown = capsys.readouterr().out
    assert all(flag in shown for flag in CONTRACT[kind])


@pytest.mark.parametrize("kind", sorted(CONTRACT))
def test_no_option_leaves_the_recipe_at_its_defaults(kind):
    recipe = FAMILIES[kind].recipe_class()
    assert recipe_from_args(recipe, _args(kind)) == recipe()


def test_help_shows_each_setting_s_default():
    shown = _train_parser("classifier").format_help()
    assert "training budget in optimiser steps (default 240)" in shown and "(default 32,64,128,256)" in shown
    assert "--architecture {resnet18,densenet121}" in shown and "--widths W1,W2,W3,W4" in shown
    assert "LSTM hidden size (default 128)" in _train_parser("forecaster").format_help()


def test_settings_are_parsed_into_the_recipe():
    classifier = recipe_from_args(FAMILIES["classifier"].recipe_class(), _args(
        "classifier", "--steps", "300", "--learning-rate", "0.003", "--widths", "8,16,32,64", "--modalities", "dx, CR",
        "--size", "32", "--architecture", "densenet121", "--stem", "7x7", "--combine", "p=a,b"))
    assert (classifier.steps, classifier.learning_rate, classifier.widths) == (300, 0.003, (8, 16, 32, 64))
    assert (classifier.stem, classifier.combine) == ("7x7", "p=a,b")
    assert (classifier.modalities, classifier.spatial_size, classifier.architecture) == (("dx", "CR"), (32,),
                                                                                         "densenet121")
    generator = recipe_from_args(FAMILIES["generator"].recipe_class(), _args("generator", "--size", "32",
                                                                             "--latent-dim", "8"))
    assert (generator.spatial_size, generator.latent_dim) == ((32, 32), 8)
    forecaster = recipe_from_args(FAMILIES["forecaster"].recipe_class(), _args("forecaster", "--risk-models", "3"))
    assert forecaster == replace(FAMILIES["forecaster"].recipe_class()(), risk_models=3)


@pytest.mark.parametrize("argv, message", [
    (["classifier", "--widths", "8,x"], "--widths must be whole numbers separated by commas, got '8,x'"),
    (["classifier", "--size", "0"], "--size must be positive, got '0'"),
    (["generator", "--size", "28,28,28"], "--size takes one number for every side or 2 numbers, got '28,28,28'"),
])
def test_a_malformed_setting_is_refused_in_one_line(argv, message, tmp_path, capsys):
    assert main(["train", argv[0], "--data", str(tmp_path / "d.npz"), "--out", str(tmp_path / "o"), *argv[1:]]) == 1
    assert capsys.readouterr().err == f"medstation train: error: {message}\n"


def test_an_option_of_the_wrong_type_is_bad_usage(capsys):
    assert main(["train", "classifier", "--steps", "many"]) == 2
    assert "--steps: invalid int value: 'many'" in capsys.readouterr().err


def test_the_recorded_command_is_the_one_typed_without_output_switches():
    args = _args("generator", "--epochs", "2", "--labels", "a,b c", "--resume", "--json", "--overwrite", "--progress")
    assert training_command(args) == (
        "medstation train generator --data d --out o --epochs 2 --labels 'a,b c' --resume"
    )


def test_every_setting_field_has_help_and_is_typed_for_the_command_line():
    for family in FAMILIES:
        recipe = family.recipe_class()
        settings = recipe_settings(recipe)
        assert settings and all(setting.help for _field, setting in settings)
        assert {item.name for item, _setting in settings} <= {item.name for item in fields(recipe)}


def test_help_imports_no_numpy_or_torch():
    probe = (
        "import sys\n"
        "from medstation.cli import main\n"
        "for argv in (['--help'], ['train', 'classifier', '--help'], ['evaluate', 'generator', '--help']):\n"
        "    main(argv)\n"
        "print(sorted(m for m in ('numpy', 'torch', 'monai') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_a_family_whose_libraries_are_missing_is_refused_in_one_line(monkeypatch, capsys):
    row = replace(FAMILIES["forecaster"], requires=("no_such_library_here",))
    monkeypatch.setitem(FAMILIES._rows, "forecaster", row)
    assert main(["evaluate", "forecaster", "--model", "m", "--data", "d", "--outcomes", "o"]) == 1
    assert capsys.readouterr().err.startswith(
        "medstation evaluate: error: the forecaster needs no_such_library_here, which this installation lacks"
    )
