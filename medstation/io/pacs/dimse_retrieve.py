"""Retrieving a study or series from a DIMSE node: C-GET (the instances come back on the same association) or
C-MOVE (the node sends them to MedStation's Storage SCP, ``listener.py``)."""

from __future__ import annotations

import logging
import time

from pydicom.dataset import Dataset
from pydicom.filereader import read_dataset
from pynetdicom import build_role, evt
from pynetdicom.sop_class import (
    StudyRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelMove,
)

from medstation.errors import Cancelled
from medstation.io.pacs.associations import (
    RECEIVE_TRANSFER_SYNTAXES,
    STORAGE_SOP_CLASSES,
    application_entity,
    association,
    check_transfer,
)
from medstation.io.pacs.errors import PacsError
from medstation.io.pacs.nodes import LocalStation, PacsNode
from medstation.io.pacs.part10 import SERIES_INSTANCE_UID, file_head, study_and_series
from medstation.io.pacs.receiving import poll_often, wait_for_work
from medstation.io.pacs.storage import ReceivedStore
from medstation.progress import CancelToken, ProgressCallback, report

log = logging.getLogger(__name__)
_PENDING = (0xFF00, 0xFF01)
_OUT_OF_RESOURCES = 0xA702
RETRIEVE_MESSAGE_ID = 1
CANCEL_GRACE_S = 3.0
"""How long a node may go on sending after a C-CANCEL before the association is aborted."""
ADVICE = "the instances received whole are kept and listed; retrieve again to complete it"


def retrieve_identifier(study_uid: str, series_uid: str = "", sop_uids: tuple[str, ...] = ()) -> Dataset:
    """A study, a series, or listed instances of a series (image level, a list of UIDs)."""
    identifier = Dataset()
    identifier.QueryRetrieveLevel = "IMAGE" if sop_uids else "SERIES" if series_uid else "STUDY"
    identifier.StudyInstanceUID = study_uid
    if series_uid:
        identifier.SeriesInstanceUID = series_uid
    if sop_uids:
        identifier.SOPInstanceUID = list(sop_uids)
    return identifier


def _what(study_uid: str, series_uid: str, sop_uids: tuple[str, ...] = ()) -> str:
    series = f"series {series_uid} of study {study_uid}" if series_uid else f"study {study_uid}"
    return f"{len(sop_uids)} instances of {series}" if sop_uids else series


def store_received(store: ReceivedStore, event, cancel: CancelToken, errors: list[str],
                   studies: set[str] | None = None) -> int:
    """Write one instance arriving over DIMSE (a C-STORE request) into ``store`` as it came, without decoding it;
    its DIMSE status. ``studies`` collects the study UIDs stored."""
    if cancel is not None and cancel.is_set():
        return _OUT_OF_RESOURCES
    try:
        request = event.request
        syntax = event.context.transfer_syntax
        sop_uid = str(request.AffectedSOPInstanceUID)
        data = request.DataSet.getbuffer()
        identity = (study_and_series(data, syntax.is_implicit_VR)
                    if syntax.is_little_endian and not syntax.is_deflated else None)
        study_uid, series_uid = identity or _series_identity(event)
        head = file_head(request.AffectedSOPClassUID, sop_uid, syntax)
        store.save_encoded([head, data], study_uid, series_uid, sop_uid)
        if studies is not None:
            studies.add(study_uid)
    except Exception as error:  # reported after the transfer; the node is told the instance failed
        errors.append(f"{type(error).__name__}: {error}")
        log.warning("instance not stored: %s", error)
        return 0xA700
    return 0x0000


def _series_identity(event) -> tuple[str, str]:
    """(StudyInstanceUID, SeriesInstanceUID) of an instance arriving over DIMSE, read from the start of its data set
    only (elements are sorted by tag, and both come before the bulk of it)."""
    syntax = event.context.transfer_syntax
    if syntax.is_deflated:
        header = event.dataset
    else:
        stream = event.request.DataSet
        stream.seek(0)
        header = read_dataset(stream, syntax.is_implicit_VR, syntax.is_little_endian,
                              stop_when=lambda tag, vr, length: tag > SERIES_INSTANCE_UID)
    return str(header.StudyInstanceUID), str(header.SeriesInstanceUID)


def _counts(status) -> tuple[int, int, int]:
    """(done, failed, total) from a C-GET or C-MOVE response's sub-operation counts."""
    completed = int(status.get("NumberOfCompletedSuboperations", 0) or 0)
    failed = int(status.get("NumberOfFailedSuboperations", 0) or 0)
    warning = int(status.get("NumberOfWarningSuboperations", 0) or 0)
    remaining = int(status.get("NumberOfRemainingSuboperations", 0) or 0)
    return completed + warning, failed, completed + warning + failed + remaining


def _final(node: PacsNode, status, done: int, failed: int, errors: list[str], what: str) -> None:
    code = status.Status
    if errors:
        raise PacsError(f"{node}: {len(errors)} instance(s) could not be stored here ({errors[0]}); {ADVICE}")
    if code in (0x0000, 0xB000) or (code == 0xFE00 and done):
        return
    comment = str(status.get("ErrorComment", "")).strip()
    details = f": {comment}" if comment else ""
    if not done and not failed and code != 0xA801:
        raise PacsError(f"{node}: holds no instance of {what}, or cannot send it (status 0x{code:04X}{details})")
    if code == 0xA801:
        raise PacsError(f"{node}: the node does not know where to send to MedStation's AE title{details}; ask its "
                        "administrator to add it with this computer's address and listening port")
    raise PacsError(f"{node}: the retrieve of {what} failed with status 0x{code:04X} after {done} instances"
                    f"{f' ({failed} failed)' if failed else ''}{details}")


def _follow(node: PacsNode, assoc, responses, progress: ProgressCallback | None, cancel: CancelToken,
            errors: list[str], what: str, model, received=lambda: None) -> tuple[int, int]:
    """Follow C-GET or C-MOVE responses to the end: progress, cancel, failures; returns (done, failed).

    On cancel the node is sent a C-CANCEL and given :data:`CANCEL_GRACE_S` to end the retrieve (instances it still
    sends over a C-GET are refused; what arrived whole stays); a node that does not, is cut off (the association
    aborted). Either way :class:`Cancelled` follows."""
    done = failed = 0
    total = None
    cancelled_at = None
    for status, _ in responses:
        count = received()
        if cancelled_at is not None and not status:
            break  # no answer after the C-CANCEL: the association is ended below
        check_transfer(node, assoc, status, count if count is not None else done, total, "the retrieve", ADVICE)
        if status.Status in _PENDING:
            done, failed, total = _counts(status)
            if cancelled_at is None:
                report(progress, done / max(total, 1), f"{node.name}: {done} of {total} instances")
        elif cancelled_at is not None:
            log.info("%s ended the retrieve on C-CANCEL (status 0x%04X)", node, status.Status)
            break
        else:
            final_done, final_failed, _ = _counts(status)
            done, failed = max(done, final_done), max(failed, final_failed)
            _final(node, status, done, failed, errors, what)
            report(progress, 1.0, f"{node.name}: {done} instances")
        if cancel is not None and cancel.is_set():
            if cancelled_at is None:
                cancelled_at = time.monotonic()
                assoc.send_c_cancel(RETRIEVE_MESSAGE_ID, query_model=model)
            elif time.monotonic() - cancelled_at > CANCEL_GRACE_S:
                log.info("%s went on sending after C-CANCEL: association aborted", node)
                assoc.abort()
                break
    if cancelled_at is not None:
        count = received()
        raise Cancelled(f"{node}: retrieve cancelled after {count if count is not None else done} instances; "
                        f"{ADVICE}")
    return done, failed


def c_get(node: PacsNode, local: LocalStation, study_uid: str, series_uid: str, store: ReceivedStore,
          progress: ProgressCallback | None = None, cancel: CancelToken = None,
          sop_uids: tuple[str, ...] = ()) -> tuple[int, int]:
    """Retrieve by C-GET into ``store`` (the study, the series, or the listed instances of the series); returns
    (instances received, instances the node failed to send)."""
    ae = application_entity(local, node)
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
    for sop_class in STORAGE_SOP_CLASSES[:127]:
        ae.add_requested_context(sop_class, RECEIVE_TRANSFER_SYNTAXES)
    roles = [build_role(sop_class, scp_role=True) for sop_class in STORAGE_SOP_CLASSES[:127]]
    errors: list[str] = []
    before = store.count
    handlers = [(evt.EVT_C_STORE, lambda event: store_received(store, event, cancel, errors))]
    report(progress, 0.0, f"{node.name}: asking for the instances")
    with association(ae, node, local, ext_neg=roles, evt_handlers=handlers) as assoc:
        if not wait_for_work(assoc):
            poll_often(assoc)
        responses = assoc.send_c_get(retrieve_identifier(study_uid, series_uid, sop_uids),
                                     StudyRootQueryRetrieveInformationModelGet, RETRIEVE_MESSAGE_ID)
        _, failed = _follow(node, assoc, responses, progress, cancel, errors, _what(study_uid, series_uid, sop_uids),
                            StudyRootQueryRetrieveInformationModelGet, lambda: store.count - before)
    return store.count - before, failed


def c_move(node: PacsNode, local: LocalStation, study_uid: str, series_uid: str, listener,
           progress: ProgressCallback | None = None, cancel: CancelToken = None,
           sop_uids: tuple[str, ...] = ()) -> tuple[int, int]:
    """Retrieve by C-MOVE to MedStation's own AE title: the node opens associations to ``listener`` (a running
    :class:`~medstation.io.pacs.listener.StorageListener`), which stores what arrives; returns (instances the
    node sent, instances it failed to send)."""
    ae = application_entity(local, node)
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelMove)
    report(progress, 0.0, f"{node.name}: asking it to send the instances")
    with listener.expecting(node), association(ae, node, local) as assoc:
        responses = assoc.send_c_move(retrieve_identifier(study_uid, series_uid, sop_uids), local.ae_title,
                                      StudyRootQueryRetrieveInformationModelMove, msg_id=RETRIEVE_MESSAGE_ID)
        done, failed = _follow(node, assoc, responses, progress, cancel, listener.errors,
                               _what(study_uid, series_uid, sop_uids), StudyRootQueryRetrieveInformationModelMove)
    return done, failed


