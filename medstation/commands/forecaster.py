"""``medstation train forecaster``, ``evaluate forecaster``."""

from __future__ import annotations

import argparse

from medstation.errors import NotAvailableYet


def add_train_options(parser: argparse.ArgumentParser) -> None:
    """Options of ``medstation train forecaster`` beyond --data and --out."""


def add_evaluate_options(parser: argparse.ArgumentParser) -> None:
    """Options of ``medstation evaluate forecaster`` beyond --model, --data and --json."""


def run_train(args: argparse.Namespace) -> int:
    raise NotAvailableYet("'medstation train forecaster' is not available yet in this version")


def run_evaluate(args: argparse.Namespace) -> int:
    raise NotAvailableYet("'medstation evaluate forecaster' is not available yet in this version")
