"""Command line front end: ``medstation [PATH]`` launches the workstation, subcommands run the engine.

Exit codes: 0 success; 1 a user or data error (one line on stderr naming the file, no traceback);
2 bad usage (argparse's own).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence

from medstation import __version__
from medstation.engine.families import FAMILIES
from medstation.errors import MedStationError

LAUNCH_EPILOG = (
    "Run 'medstation' with no command (or with a PATH) to open the workstation; "
    "'medstation COMMAND --help' describes a command."
)


def _add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


PROGRESS_HELP = "draw the progress bar on stderr even when it is not a terminal (by default only a terminal gets it)"


def _add_progress(parser: argparse.ArgumentParser) -> None:
    """``--progress`` after the command; the same flag before it (``medstation --progress COMMAND``) is the default."""
    parser.add_argument("--progress", action="store_true", default=argparse.SUPPRESS, help=PROGRESS_HELP)


def _add_series(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--series", metavar="N|UID", help="series number or SeriesInstanceUID")


def _run_self_test(args: argparse.Namespace) -> int:
    from medstation.selftest import format_results, run_self_test

    results = run_self_test()
    if args.json:
        print(json.dumps({"checks": [r.as_dict() for r in results], "passed": all(r.ok for r in results)}))
    else:
        print(format_results(results))
    return 0 if all(r.ok for r in results) else 1


def _imaging():
    from medstation.commands import imaging

    return imaging


def _render():
    from medstation.commands import render

    return render


def _pacs():
    from medstation.commands import pacs

    return pacs


def _models():
    from medstation.commands import models

    return models


def _export():
    from medstation.commands import export

    return export


def _family_command(family: str | None, verb: str) -> Callable[[argparse.Namespace], int]:
    """The handler that runs ``verb`` of a family's command module (the family ``args.kind`` names when
    ``family`` is None), once its libraries are known to be installed."""

    def handler(args: argparse.Namespace) -> int:
        row = FAMILIES[family or args.kind]
        row.require()
        return getattr(row.command_module(), verb)(args)

    return handler


def _add_train_parsers(sub) -> None:
    """``medstation train KIND`` for every model family: the shared options, the recipe's settings, the family's."""
    from medstation.commands.recipe_options import add_recipe_options

    names = [family.name for family in FAMILIES]
    listed = f"{', '.join(names[:-1])} or {names[-1]}" if len(names) > 1 else names[0]
    p = sub.add_parser("train", help=f"train a {listed} into a model bundle")
    kinds = p.add_subparsers(dest="kind", metavar="KIND", required=True)
    for family in FAMILIES:
        k = kinds.add_parser(family.name, help=f"train a {family.summary}")
        k.add_argument("--data")
        k.add_argument("--out", metavar="BUNDLE_DIR")
        add_recipe_options(k, family.recipe_class())
        family.command_module().add_train_options(k)
        k.add_argument("--overwrite", action="store_true", help="replace an existing bundle at --out")
        _add_json(k)
        _add_progress(k)


def _add_evaluate_parsers(sub) -> None:
    """``medstation evaluate KIND`` for every model family."""
    p = sub.add_parser("evaluate", help="evaluate a model bundle on held-out data")
    kinds = p.add_subparsers(dest="kind", metavar="KIND", required=True)
    for family in FAMILIES:
        k = kinds.add_parser(family.name, help=f"evaluate a {family.summary}")
        k.add_argument("--model", required=True, metavar="NAME|DIR")
        k.add_argument("--data", required=True)
        _add_json(k)
        family.command_module().add_evaluate_options(k)
        _add_progress(k)


def build_parser() -> argparse.ArgumentParser:
    """The full command tree of docs/design.md §3."""
    parser = argparse.ArgumentParser(
        prog="medstation",
        description="MedStation imaging workstation: DICOM/NIfTI review and offline AI analysis.",
        epilog=LAUNCH_EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"medstation {__version__}")
    parser.add_argument("--progress", action="store_true", help=PROGRESS_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("info", help="patients, studies and series found in PATH, with geometry and warnings")
    p.add_argument("path")
    _add_json(p)
    _add_progress(p)

    p = sub.add_parser("convert", help="convert a series or volume to NIfTI (.nii, .nii.gz), NRRD or MetaImage")
    p.add_argument("path")
    p.add_argument("out")
    _add_series(p)
    _add_progress(p)

    p = sub.add_parser("render", help="render a slice to PNG")
    p.add_argument("path")
    p.add_argument("out")
    _add_series(p)
    p.add_argument("--view", choices=["axial", "coronal", "sagittal"], default="axial")
    p.add_argument("--slice", type=int, help="0-based slice index along the view's normal (default: middle)")
    p.add_argument("--window", type=float)
    p.add_argument("--level", type=float)
    p.add_argument("--overlay", choices=["saliency"])
    p.add_argument("--model", metavar="NAME|DIR", help="classifier bundle for --overlay saliency")
    p.add_argument(
        "--method",
        default="gradcam",
        help="saliency method for --overlay saliency: gradcam (default), gradcampp, occlusion, "
        "integrated_gradients, lime or kernel_shap",
    )

    p = sub.add_parser("import", help="add a folder to the local study database (files stay where they are)")
    p.add_argument("path")
    _add_json(p)
    _add_progress(p)

    p = sub.add_parser("models", help="installed model bundles")
    _add_json(p)

    p = sub.add_parser("classify", help="classify an image, a folder of images or the study database's images")
    FAMILIES["classifier"].command_module().add_classify_options(p)
    _add_json(p)
    _add_progress(p)

    _add_train_parsers(sub)
    _add_evaluate_parsers(sub)

    p = sub.add_parser("forecast", help="forecast patients' trends and risks from their timelines")
    p.add_argument("path")
    FAMILIES["forecaster"].command_module().add_forecast_options(p)
    _add_json(p)
    _add_progress(p)

    p = sub.add_parser("generate", help="generate synthetic images (marked synthetic)")
    p.add_argument("--model", required=True, metavar="NAME|DIR")
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--label")
    p.add_argument("--seed", type=int)
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--format", choices=["png", "nii", "dcm"], default="png")
    _add_json(p)

    p = sub.add_parser("export", help="export a study's series (or one) as DICOM, de-identified DICOM, NIfTI or PNG")
    p.add_argument("path")
    p.add_argument("out_dir")
    _add_series(p)
    _export().add_export_options(p)
    _add_json(p)
    _add_progress(p)

    p = sub.add_parser("pacs", help="PACS nodes: echo, find, retrieve, send (DIMSE or DICOMweb); listen for pushes")
    _pacs().add_parsers(p)

    p = sub.add_parser("self-test", help="built-in checks of this installation")
    _add_json(p)

    return parser


HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {"self-test": _run_self_test}
HANDLERS["info"] = lambda args: _imaging().run_info(args)
HANDLERS["convert"] = lambda args: _imaging().run_convert(args)
HANDLERS["import"] = lambda args: _imaging().run_import(args)
HANDLERS["render"] = lambda args: _render().run_render(args)
HANDLERS["models"] = lambda args: _models().run_models(args)
HANDLERS["pacs"] = lambda args: _pacs().run(args)
HANDLERS["export"] = lambda args: _export().run_export(args)
HANDLERS["classify"] = _family_command("classifier", "run_classify")
HANDLERS["train"] = _family_command(None, "run_train")
HANDLERS["evaluate"] = _family_command(None, "run_evaluate")
HANDLERS["generate"] = _family_command("generator", "run_generate")
HANDLERS["forecast"] = _family_command("forecaster", "run_forecast")


def _is_launch(argv: Sequence[str], commands: set[str]) -> bool:
    """True when argv asks for the workstation: no arguments, or a PATH that is not a command or option."""
    return not argv or (argv[0] not in commands and not argv[0].startswith("-"))


def _launch(argv: Sequence[str]) -> int:
    if len(argv) > 1:
        print(f"medstation: error: expected at most one PATH to open, got {len(argv)} arguments", file=sys.stderr)
        return 2
    try:
        from medstation.ui.app import run_workstation

        return run_workstation(argv[0] if argv else None)
    except MedStationError as error:
        print(f"medstation: error: {error}", file=sys.stderr)
        return 1


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``medstation`` and ``python -m medstation``; returns the exit code."""
    try:
        code = _run(list(sys.argv[1:] if argv is None else argv))
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        return _reader_gone()


def _run(argv: list[str]) -> int:
    """Parse ``argv`` and run its command, or open the GUI."""
    parser = build_parser()
    if _is_launch(argv, set(HANDLERS)):
        return _launch(argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    if args.command is None:
        return _launch([])
    try:
        return HANDLERS[args.command](args)
    except MedStationError as error:
        print(f"medstation {args.command}: error: {error}", file=sys.stderr)
        return 1


def _reader_gone() -> int:
    """The reader of stdout left (``medstation ... | head``): no traceback, and Python's exit does not try to flush
    into the closed pipe again; the exit code is a shell's for a process ended by SIGPIPE (128 + 13)."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 141
