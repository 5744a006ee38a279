"""``medstation export``: a study's series as DICOM (optionally de-identified), NIfTI or PNG slices."""

from __future__ import annotations

import argparse

from medstation.cli_progress import ProgressBar
from medstation.commands.output import print_json, skipped_entries
from medstation.errors import MedStationError


def add_export_options(parser: argparse.ArgumentParser) -> None:
    """Options of ``medstation export`` beyond PATH, OUT_DIR and --series."""
    parser.add_argument("--format", choices=["dicom", "nifti", "png"], required=True)
    parser.add_argument("--anonymize", action="store_true",
                        help="de-identify (DICOM PS3.15 Basic Profile, dates shifted per patient, descriptors "
                             "cleaned, UIDs replaced, private attributes removed)")
    parser.add_argument("--keep-dates", action="store_true", help="with --anonymize: keep dates instead of shifting")
    parser.add_argument("--allow-burned-in", action="store_true",
                        help="with --anonymize: include images that may show identity in their pixels")
    parser.add_argument("--force", action="store_true", help="replace outputs that already exist")
    parser.add_argument("--to", metavar="NODE", help="then send the exported DICOM files to this PACS node")


def run_export(args: argparse.Namespace) -> int:
    if (args.keep_dates or args.allow_burned_in) and not args.anonymize:
        raise MedStationError("--keep-dates and --allow-burned-in go with --anonymize")
    if args.to and args.format != "dicom":
        raise MedStationError(f"--to sends DICOM to a PACS; export --format dicom to send to {args.to}")
    from medstation.io.export.deidentify import DeidentificationOptions
    from medstation.io.export.series_export import export_series

    options = DeidentificationOptions(keep_dates=args.keep_dates, allow_burned_in=args.allow_burned_in)
    with ProgressBar(args.progress) as bar:
        node = _node(args.to) if args.to else None
        summary = export_series(args.path, args.out_dir, args.format, args.series, anonymize=args.anonymize,
                                options=options, force=args.force, progress=bar)
        sent = _send(node, summary.outputs, bar) if node else None
    skipped = skipped_entries(summary.skipped)
    if args.json:
        print_json({**summary.as_dict(), "skipped": skipped, **({"sent": sent.as_dict()} if sent else {})})
        return 0
    for output in summary.outputs:
        print(f"wrote {output}")
    if sent:
        print(f"sent {sent.sent} files to {sent.node}"
              + (f"; {len(sent.refused)} refused" if sent.refused else ""))
    tally = summary.deidentification
    if tally is not None:
        figures = tally.as_dict()
        print(f"de-identified {figures['files']} files: {figures['removed']} attributes removed, {figures['emptied']} "
              f"emptied, {figures['replaced']} replaced, {figures['uids_remapped']} UIDs replaced, "
              f"{figures['dates_shifted']} dates shifted, {figures['descriptors_cleaned']} descriptors cleaned, "
              f"{figures['private_removed']} private attributes removed")
    return 0


def _node(name: str):
    """The PACS node ``--to`` names, looked up before anything is written."""
    from medstation.io.pacs import find_node

    return find_node(name)


def _send(node, outputs, bar):
    """The exported files sent to ``node`` (C-STORE or STOW-RS)."""
    from medstation.commands.pacs import ask_on_terminal
    from medstation.io.pacs import send_files

    return send_files(node, list(outputs), bar, ask_secret=ask_on_terminal)
