"""The verbs of PACS connectivity, the same for a DIMSE and a DICOMweb node: :func:`echo`, :func:`find`,
:func:`retrieve` and :func:`send_files`. The command line, the workstation and export (``--to NODE``) call these.

Every long verb takes ``progress`` and ``cancel`` (``medstation/progress.py``); a DICOMweb node's password or token
comes from :mod:`.secrets`, asked for with ``ask_secret`` where it is given and none is stored.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from medstation.io.pacs import dicomweb, dimse
from medstation.io.pacs.errors import PacsError
from medstation.io.pacs.nodes import LocalStation, PacsNode, load_local
from medstation.io.pacs.outgoing import outgoing_files
from medstation.io.pacs.present import RetrievePlan, local_instances, plan, whole
from medstation.io.pacs.query import PacsMatch, QueryFilters
from medstation.io.pacs.secrets import secret_for
from medstation.io.pacs.storage import ReceivedStore
from medstation.progress import CancelToken, ProgressCallback, check_cancelled

AskSecret = Callable[[PacsNode], "str | None"]
METHODS = {"dimse": ("get", "move"), "dicomweb": ("wado",)}


@dataclass(frozen=True)
class RetrieveSummary:
    node: str
    method: str
    study_uid: str
    series_uid: str
    received: int
    """Instances received whole, stored and listed in the study database."""
    failed: int
    """Instances the node said it could not send."""
    folder: str
    seconds: float
    files: list[str] = field(default_factory=list)
    already_present: int = 0
    """Instances the node holds that the study database already listed: not transferred again."""

    def as_dict(self) -> dict:
        return {"node": self.node, "method": self.method, "study_uid": self.study_uid, "series_uid": self.series_uid,
                "received": self.received, "failed": self.failed, "already_present": self.already_present,
                "folder": self.folder, "seconds": round(self.seconds, 3)}


@dataclass(frozen=True)
class SendSummary:
    node: str
    sent: int
    refused: list[tuple[str, str]]
    skipped: list[tuple[str, str]]
    seconds: float

    def as_dict(self) -> dict:
        return {"node": self.node, "sent": self.sent, "seconds": round(self.seconds, 3),
                "refused": [{"path": path, "reason": reason} for path, reason in self.refused],
                "skipped": [{"path": path, "reason": reason} for path, reason in self.skipped]}


def _secret(node: PacsNode, ask_secret: AskSecret | None) -> str | None:
    return secret_for(node, ask_secret) if node.needs_secret else None


def echo(node: PacsNode, local: LocalStation | None = None, ask_secret: AskSecret | None = None) -> float:
    """Check that the node answers (C-ECHO, or a one-study QIDO-RS search); the round trip in seconds."""
    if node.kind == "dicomweb":
        return dicomweb.echo(node, _secret(node, ask_secret))
    return dimse.echo(node, local or load_local())


def find(node: PacsNode, filters: QueryFilters, local: LocalStation | None = None,
         ask_secret: AskSecret | None = None, cancel: CancelToken = None) -> list[PacsMatch]:
    """Patients, studies or series on the node matching ``filters`` (C-FIND or QIDO-RS)."""
    if node.kind == "dicomweb":
        return dicomweb.find(node, filters, _secret(node, ask_secret), cancel)
    return dimse.find(node, local or load_local(), filters, cancel)


def retrieve(node: PacsNode, study_uid: str, series_uid: str = "", method: str = "",
             progress: ProgressCallback | None = None, cancel: CancelToken = None, *,
             local: LocalStation | None = None, store: ReceivedStore | None = None, listener=None,
             ask_secret: AskSecret | None = None) -> RetrieveSummary:
    """Fetch a study (or one of its series) into the storage folder and the study database.

    ``method``: ``get`` (C-GET, the default for a DIMSE node), ``move`` (C-MOVE into MedStation's Storage SCP:
    ``listener`` if one runs, else one started for the transfer on the configured port) or ``wado`` (WADO-RS, the
    only one for a DICOMweb node). Instances are written whole and listed as they arrive. Instances the study
    database already lists (files present) are not asked for again (``already_present``, see :mod:`.present`); one
    received again all the same replaces its file instead of adding a copy. :class:`~medstation.errors.Cancelled`
    or :class:`~.errors.TransferAborted` keep what arrived whole.
    """
    from medstation.io.pacs.dimse_retrieve import c_get, c_move
    from medstation.io.pacs.listener import StorageListener

    study_uid, series_uid = study_uid.strip(), series_uid.strip()
    if not study_uid:
        raise PacsError(f"{node}: a retrieve needs a study instance UID")
    method = method or METHODS[node.kind][0]
    if method not in METHODS[node.kind]:
        raise PacsError(f"{node}: {method!r} is not a way to retrieve from a {node.kind} node "
                        f"(use {' or '.join(METHODS[node.kind])})")
    check_cancelled(cancel)
    local = local or load_local()
    started = time.perf_counter()
    own_store = store is None and (method != "move" or listener is None)
    store = listener.store if (method == "move" and listener is not None) else (store or ReceivedStore())
    before = store.count
    received = failed = 0
    try:
        the_plan = _plan(node, local, study_uid, series_uid, store, ask_secret, cancel)
        total = sum(part.expected for part in the_plan.parts)
        for part in the_plan.parts:
            check_cancelled(cancel)
            part_progress = _share(progress, received + failed, part.expected, total)
            series = part.series_uid or series_uid
            if method == "wado":
                got, lost = dicomweb.wado_retrieve(node, study_uid, series, store, _secret(node, ask_secret),
                                                   part_progress, cancel, part.sop_uids), 0
            elif method == "get":
                got, lost = c_get(node, local, study_uid, series, store, part_progress, cancel, part.sop_uids)
            elif listener is not None:
                got, lost = c_move(node, local, study_uid, series, listener, part_progress, cancel, part.sop_uids)
            else:
                with StorageListener(local, store, accept_pushes=False) as own:
                    got, lost = c_move(node, local, study_uid, series, own, part_progress, cancel, part.sop_uids)
            received, failed = received + got, failed + lost
    finally:
        store.flush()
        written = [str(item.path) for item in store.written[before:]]
        if own_store:
            store.close()
    if not received and not failed and not the_plan.already_present:
        what = f"series {series_uid} of study {study_uid}" if series_uid else f"study {study_uid}"
        raise PacsError(f"{node}: holds no instance of {what}")
    return RetrieveSummary(node.name, method, study_uid, series_uid, received, failed, str(store.root),
                           time.perf_counter() - started, written, the_plan.already_present)


def _plan(node: PacsNode, local: LocalStation, study_uid: str, series_uid: str, store: ReceivedStore,
          ask_secret: AskSecret | None, cancel: CancelToken) -> RetrievePlan:
    """The requests of a retrieve: everything at once when none of it is here, else what is missing (the node is
    asked what it holds)."""
    here = local_instances(store.database_path, store.root, study_uid, series_uid)
    if not here:
        return whole(series_uid)
    if node.kind == "dicomweb":
        counts, listed = dicomweb.holdings(node, study_uid, series_uid, set(here), _secret(node, ask_secret), cancel)
    else:
        counts, listed = dimse.holdings(node, local, study_uid, series_uid, set(here), cancel)
    return plan(counts, listed, here)


def _share(progress: ProgressCallback | None, done: int, expected: int, total: int) -> ProgressCallback | None:
    """Progress of one request of a retrieve as its share of the whole."""
    if progress is None or not total or not expected:
        return progress
    return lambda fraction, message: progress((done + fraction * expected) / total, message)


def send_files(node: PacsNode, paths: list[str | Path], progress: ProgressCallback | None = None,
               cancel: CancelToken = None, *, local: LocalStation | None = None,
               ask_secret: AskSecret | None = None) -> SendSummary:
    """Send the DICOM files under ``paths`` (files or folders) to the node: C-STORE or STOW-RS, each file as it is
    on disk. Files that are not DICOM instances are skipped with their reason; :class:`PacsError` when none is
    left to send."""
    started = time.perf_counter()
    files, skipped = outgoing_files(list(paths))
    if not files:
        raise PacsError(f"{node}: nothing to send: no DICOM instance in {', '.join(map(str, paths))}")
    if node.kind == "dicomweb":
        refused = dicomweb.stow_send(node, files, _secret(node, ask_secret), progress, cancel)
    else:
        from medstation.io.pacs.dimse_send import c_store

        refused = c_store(node, local or load_local(), files, progress, cancel)
    return SendSummary(node.name, len(files) - len(refused), refused, [(str(path), reason) for path, reason in skipped],
                       time.perf_counter() - started)
