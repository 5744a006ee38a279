"""``medstation pacs``: configure PACS nodes and MedStation's own DICOM identity, echo, find, retrieve, send, and
listen for what a PACS sends (``io/pacs``)."""

from __future__ import annotations

import argparse
import getpass
import signal
import sys
import threading

from medstation.cli_progress import ProgressBar
from medstation.commands.output import print_json, skipped_entries
from medstation.errors import MedStationError

FIND_COLUMNS = {
    "patient": (("patient_name", "patient"), ("patient_id", "ID"), ("studies", "studies")),
    "study": (("study_date", "date"), ("patient_name", "patient"), ("patient_id", "ID"),
              ("accession_number", "accession"), ("modalities", "modalities"), ("study_description", "description"),
              ("instances", "images"), ("study_uid", "study UID")),
    "series": (("study_date", "date"), ("patient_name", "patient"), ("series_number", "#"),
               ("modalities", "modality"), ("series_description", "description"), ("instances", "images"),
               ("study_uid", "study UID"), ("series_uid", "series UID")),
}


def add_parsers(parser: argparse.ArgumentParser) -> None:
    """The ``pacs`` sub-commands (docs/design.md §3 and §11)."""
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    nodes = actions.add_parser("nodes", help="add, list or remove the PACS nodes MedStation talks to")
    verbs = nodes.add_subparsers(dest="verb", metavar="VERB", required=True)
    listing = verbs.add_parser("list", help="the configured nodes")
    listing.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    add = verbs.add_parser("add", help="add a node (or replace the one of that name)")
    add.add_argument("name")
    add.add_argument("--ae-title", help="the node's AE title (DIMSE)")
    add.add_argument("--host", help="the node's host name or address (DIMSE)")
    add.add_argument("--port", type=int, help="the node's DICOM port (DIMSE)")
    add.add_argument("--url", help="DICOMweb base URL, such as http://pacs:8042/dicom-web (instead of DIMSE)")
    add.add_argument("--auth", choices=["none", "basic", "bearer"], default="none", help="DICOMweb authentication")
    add.add_argument("--user", default="", help="user name for --auth basic")
    add.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS",
                     help="how long to wait for the node to connect and answer (default 30)")
    add.add_argument("--store-secret", action="store_true",
                     help="keep the password or token (asked for, or MEDSTATION_PACS_SECRET_<NAME>) in the system "
                          "keyring; refused where there is none")
    remove = verbs.add_parser("remove", help="remove a node (and its secret from the keyring)")
    remove.add_argument("name")

    local = actions.add_parser("local", help="show or set MedStation's own AE title and Storage SCP address")
    local.add_argument("--ae-title", help="the AE title MedStation calls with and answers to")
    local.add_argument("--port", type=int, help="the port the Storage SCP listens on (C-MOVE, pushes)")
    local.add_argument("--bind", metavar="ADDRESS", help="the address it listens on: 127.0.0.1 (default, this "
                                                         "computer only) or 0.0.0.0 (every interface)")
    local.add_argument("--pushes", choices=["on", "off"], help="store what a PACS sends unasked (default off)")
    local.add_argument("--json", action="store_true", help="print one JSON object on stdout")

    echo = actions.add_parser("echo", help="check that a node answers (C-ECHO or a QIDO-RS search)")
    echo.add_argument("node")

    find = actions.add_parser("find", help="search a node for patients, studies or series")
    find.add_argument("node")
    find.add_argument("--level", choices=["patient", "study", "series"], default="study")
    find.add_argument("--name", default="", help="patient name (part of it, or with * and ? wildcards)")
    find.add_argument("--patient-id", default="")
    find.add_argument("--date", default="", metavar="RANGE",
                      help="study date: YYYYMMDD, YYYYMMDD-, -YYYYMMDD or YYYYMMDD-YYYYMMDD")
    find.add_argument("--modality", default="", help="CT, MR, ...")
    find.add_argument("--accession", default="", help="accession number")
    find.add_argument("--description", default="", help="study description (part of it, or with wildcards)")
    find.add_argument("--study", default="", metavar="UID", help="study instance UID")
    find.add_argument("--json", action="store_true", help="print one JSON object on stdout")

    retrieve = actions.add_parser("retrieve", help="fetch a study or series into MedStation's study database")
    retrieve.add_argument("node")
    retrieve.add_argument("--study", required=True, metavar="UID", help="study instance UID")
    retrieve.add_argument("--series", default="", metavar="UID", help="only this series of the study")
    retrieve.add_argument("--method", choices=["get", "move", "wado"],
                          help="C-GET (default for DIMSE), C-MOVE to MedStation's Storage SCP, or WADO-RS (DICOMweb)")
    retrieve.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    retrieve.add_argument("--progress", action="store_true", default=argparse.SUPPRESS,
                          help="draw the progress bar on stderr even when it is not a terminal")

    send = actions.add_parser("send", help="send DICOM files or folders to a node (C-STORE or STOW-RS)")
    send.add_argument("node")
    send.add_argument("paths", nargs="+", metavar="PATH")
    send.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    send.add_argument("--progress", action="store_true", default=argparse.SUPPRESS,
                      help="draw the progress bar on stderr even when it is not a terminal")

    listen = actions.add_parser("listen", help="run MedStation's Storage SCP and store what is sent to it, until "
                                               "interrupted (Ctrl+C)")
    listen.add_argument("--ae-title", help="answer to this AE title instead of the configured one")
    listen.add_argument("--port", type=int, help="listen on this port instead of the configured one")
    listen.add_argument("--bind", metavar="ADDRESS", help="listen on this address instead of the configured one")


def run(args: argparse.Namespace) -> int:
    handler = {"nodes": _run_nodes, "local": _run_local, "echo": _run_echo, "find": _run_find,
               "retrieve": _run_retrieve, "send": _run_send, "listen": _run_listen}[args.action]
    return handler(args)


def ask_on_terminal(node) -> str | None:
    """A node's password or token typed at a terminal (None without one)."""
    if not sys.stdin.isatty():
        return None
    what = "password" if node.auth == "basic" else "token"
    return getpass.getpass(f"{what} for {node}: ") or None


def _run_nodes(args: argparse.Namespace) -> int:
    from medstation.io.pacs import nodes, secrets

    if args.verb == "list":
        found = nodes.load_nodes()
        if args.json:
            print_json({"nodes": [node.as_dict() for node in found]})
        elif not found:
            print("no PACS node configured; add one with 'medstation pacs nodes add'")
        for node in found if not args.json else []:
            auth = f", {node.auth} authentication" if node.needs_secret else ""
            print(f"{node.name}: {node.address} ({node.kind}{auth}, timeout {node.timeout_s:g} s)")
        return 0
    if args.verb == "remove":
        node = nodes.remove_node(args.name)
        secrets.forget_secret(node.name)
        print(f"removed {node}")
        return 0
    node = nodes.save_node(nodes.PacsNode(
        args.name, args.ae_title or "", args.host or "", args.port or 0, args.url or "", args.auth, args.user,
        args.timeout))
    print(f"saved {node}")
    if args.store_secret:
        if not node.needs_secret:
            raise MedStationError(f"{node}: --store-secret is for DICOMweb nodes with --auth basic or bearer")
        secrets.store_secret(node, secrets.secret_for(node, ask_on_terminal))
        print(f"the {'password' if node.auth == 'basic' else 'token'} of {node.name} is in the system keyring")
    return 0


def _run_local(args: argparse.Namespace) -> int:
    import dataclasses

    from medstation.io.pacs import nodes

    local = nodes.load_local()
    changes = {key: value for key, value in (("ae_title", args.ae_title), ("port", args.port),
                                             ("bind_address", args.bind)) if value is not None}
    if args.pushes is not None:
        changes["accept_pushes"] = args.pushes == "on"
    if changes:
        local = nodes.save_local(dataclasses.replace(local, **changes))
    if args.json:
        print_json(local.as_dict())
    else:
        print(f"MedStation is {local.ae_title}; its Storage SCP listens on {local.bind_address}:{local.port}, "
              f"pushes {'accepted' if local.accept_pushes else 'refused'}")
    return 0


def _run_echo(args: argparse.Namespace) -> int:
    from medstation.io.pacs import find_node, operations

    node = find_node(args.node)
    seconds = operations.echo(node, ask_secret=ask_on_terminal)
    print(f"{node}: answered in {1000 * seconds:.0f} ms")
    return 0


def _run_find(args: argparse.Namespace) -> int:
    from medstation.io.pacs import QueryFilters, find_node, operations

    node = find_node(args.node)
    filters = QueryFilters(args.level, args.name, args.patient_id, args.date, args.modality, args.accession,
                           args.description, args.study)
    matches = operations.find(node, filters, ask_secret=ask_on_terminal)
    if args.json:
        print_json({"node": node.name, "level": args.level, "matches": [match.as_dict() for match in matches]})
        return 0
    columns = FIND_COLUMNS[args.level]
    rows = [[_cell(getattr(match, key)) for key, _ in columns] for match in matches]
    widths = [max([len(title), *(len(row[i]) for row in rows)]) for i, (_, title) in enumerate(columns)]
    print("  ".join(title.ljust(width) for (_, title), width in zip(columns, widths, strict=True)).rstrip())
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    print(f"{len(matches)} {args.level if len(matches) == 1 else _plural(args.level)} on {node}", file=sys.stderr)
    return 0


def _plural(level: str) -> str:
    return {"patient": "patients", "study": "studies", "series": "series"}[level]


def _cell(value) -> str:
    if value is None:
        return "-"
    text = str(value)
    return text.replace("^", " ").strip() if text else "-"


def _interruptible(function, progress_always: bool):
    """Run ``function(progress, cancel)`` with the progress bar; Ctrl+C cancels it (what arrived whole stays)."""
    cancel = threading.Event()
    with ProgressBar(progress_always) as bar:
        try:
            return function(bar, cancel)
        except KeyboardInterrupt:
            cancel.set()
            raise MedStationError("interrupted; the instances transferred whole are kept") from None


def _run_retrieve(args: argparse.Namespace) -> int:
    from medstation.io.pacs import find_node, operations

    node = find_node(args.node)
    summary = _interruptible(lambda bar, cancel: operations.retrieve(
        node, args.study, args.series, args.method or "", bar, cancel, ask_secret=ask_on_terminal),
        getattr(args, "progress", False))
    if args.json:
        print_json(summary.as_dict())
        return 0
    how = {"get": "C-GET", "move": "C-MOVE", "wado": "WADO-RS"}[summary.method]
    failed = f" ({summary.failed} the node could not send)" if summary.failed else ""
    what = f"series {summary.series_uid} of study {summary.study_uid}" if summary.series_uid else \
        f"study {summary.study_uid}"
    present = f" (already present {summary.already_present}, not transferred again)" if summary.already_present else ""
    print(f"retrieved {summary.received} instances{failed} of {what}{present} from {node} by {how} in "
          f"{summary.seconds:.1f} s into {summary.folder}; listed in the study database")
    return 0


def _run_send(args: argparse.Namespace) -> int:
    from medstation.io.pacs import find_node, operations

    node = find_node(args.node)
    summary = _interruptible(lambda bar, cancel: operations.send_files(
        node, args.paths, bar, cancel, ask_secret=ask_on_terminal), getattr(args, "progress", False))
    skipped_entries([(path, reason) for path, reason in summary.skipped])
    for path, reason in summary.refused:
        print(f"refused {path}: {reason}", file=sys.stderr)
    if args.json:
        print_json(summary.as_dict())
    else:
        print(f"sent {summary.sent} instances to {node} in {summary.seconds:.1f} s")
    if summary.refused:
        raise MedStationError(f"{node}: refused {len(summary.refused)} of {summary.sent + len(summary.refused)} "
                              "instances (listed above)")
    return 0


def _run_listen(args: argparse.Namespace) -> int:
    import dataclasses

    from medstation.io.pacs import StorageListener, load_local
    from medstation.io.pacs.nodes import check_local

    local = load_local()
    changes = {key: value for key, value in (("ae_title", args.ae_title), ("port", args.port),
                                             ("bind_address", args.bind)) if value is not None}
    local = check_local(dataclasses.replace(local, **changes))
    stop = threading.Event()
    totals = {"instances": 0, "refused": 0}

    def received(batch) -> None:
        totals["instances"] += batch.instances
        totals["refused"] += batch.refused
        studies = f" of {len(batch.study_uids)} stud{'y' if len(batch.study_uids) == 1 else 'ies'}"
        refused = f", refused {batch.refused}" if batch.refused else ""
        print(f"received {batch.instances} instances{studies if batch.instances else ''} from "
              f"{batch.calling_ae_title} ({batch.address}){refused}", flush=True)

    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        with StorageListener(local, accept_pushes=True, on_batch=received) as listener:
            print(f"listening as {local.ae_title} on {local.bind_address}:{local.port}, storing into "
                  f"{listener.store.root}; Ctrl+C to stop", file=sys.stderr, flush=True)
            try:
                while not stop.wait(0.5):
                    pass
            except KeyboardInterrupt:
                pass
    finally:
        signal.signal(signal.SIGTERM, previous)
    print(f"stopped: {totals['instances']} instances received and listed in the study database", file=sys.stderr)
    return 0
