"""``medstation models``: the installed model bundles, each valid or with the reason it is not."""

from __future__ import annotations

import argparse

from medstation.commands.output import print_json
from medstation.engine.bundles.registry import BundleEntry, list_bundles, model_folders


def _format_entry(entry: BundleEntry) -> str:
    description = entry.as_dict()
    head = f"{entry.name}  {description['task'] or '-'}  {description['version'] or '-'}"
    if description["labels"]:
        head += f"  labels: {', '.join(description['labels'])}"
    status = "valid" if entry.valid else f"INVALID: {entry.problem}"
    return f"{head}\n    {entry.source}: {entry.location}\n    {status}"


def run_models(args: argparse.Namespace) -> int:
    folders = model_folders()
    entries = list_bundles(folders)
    if args.json:
        print_json(
            {
                "models": [entry.as_dict() for entry in entries],
                "folders": [{"source": source, "path": str(path)} for source, path in folders],
            }
        )
        return 0
    if not entries:
        looked_in = ", ".join(str(path) for _source, path in folders)
        print(f"no model bundles installed (looked in {looked_in})")
    for entry in entries:
        print(_format_entry(entry))
    return 0
