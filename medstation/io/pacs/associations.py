"""DIMSE associations with a node (pynetdicom): the application entity MedStation calls with, the presentation
contexts it proposes, and every way an association can fail turned into one line naming the node."""

from __future__ import annotations

import errno
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from pynetdicom import AE, StoragePresentationContexts, evt
from pynetdicom.association import Association

from medstation.errors import Cancelled
from medstation.io.pacs.errors import PacsError, TransferAborted
from medstation.io.pacs.nodes import LocalStation, PacsNode
from medstation.io.pacs.receiving import receive_in_bulk

RECEIVE_TRANSFER_SYNTAXES = [
    "1.2.840.10008.1.2.1",  # Explicit VR Little Endian
    "1.2.840.10008.1.2",  # Implicit VR Little Endian
    "1.2.840.10008.1.2.1.99",  # Deflated Explicit VR Little Endian
    "1.2.840.10008.1.2.2",  # Explicit VR Big Endian (retired, still sent by old modalities)
    "1.2.840.10008.1.2.4.50",  # JPEG Baseline
    "1.2.840.10008.1.2.4.51",  # JPEG Extended
    "1.2.840.10008.1.2.4.57",  # JPEG Lossless
    "1.2.840.10008.1.2.4.70",  # JPEG Lossless SV1
    "1.2.840.10008.1.2.4.80",  # JPEG-LS Lossless
    "1.2.840.10008.1.2.4.81",  # JPEG-LS Near Lossless
    "1.2.840.10008.1.2.4.90",  # JPEG 2000 Lossless
    "1.2.840.10008.1.2.4.91",  # JPEG 2000
    "1.2.840.10008.1.2.5",  # RLE Lossless
]
"""What MedStation accepts when it receives instances: everything its decoders read (pydicom with pylibjpeg), so
a PACS sends its stored bytes unchanged where it can."""
STORAGE_SOP_CLASSES = [context.abstract_syntax for context in StoragePresentationContexts]
"""The storage SOP classes MedStation receives (pynetdicom's 120 most common ones: an association carries at most
128 presentation contexts)."""
MAXIMUM_PDU_BYTES = 0
"""The largest PDU MedStation receives; 0 means no limit, so the sender chooses (fewer, larger messages)."""


def application_entity(local: LocalStation, node: PacsNode | None = None) -> AE:
    """An AE with MedStation's AE title and the node's timeouts (seconds)."""
    ae = AE(ae_title=local.ae_title)
    timeout = node.timeout_s if node is not None else 30.0
    ae.acse_timeout = timeout
    ae.dimse_timeout = timeout
    ae.network_timeout = timeout
    ae.connection_timeout = timeout
    ae.maximum_pdu_size = MAXIMUM_PDU_BYTES
    return ae


@contextmanager
def association(ae: AE, node: PacsNode, local: LocalStation, ext_neg: list | None = None,
                evt_handlers: list | None = None) -> Iterator[Association]:
    """An established association with ``node``, released at the end (aborted if the block raised);
    :class:`PacsError` naming the node when it cannot be established."""
    for attempt in (1, 2):
        connected = threading.Event()
        handlers = [(evt.EVT_CONN_OPEN, lambda event, connected=connected: connected.set()), *(evt_handlers or [])]
        started = time.monotonic()
        assoc = ae.associate(node.host, node.port, ae_title=node.ae_title, ext_neg=ext_neg, evt_handlers=handlers)
        closed_early = (connected.is_set() and not assoc.is_established and assoc.acceptor.primitive is None
                        and time.monotonic() - started < 0.9 * node.timeout_s)
        if assoc.is_established or not closed_early or attempt == 2:
            break
        # The node closed the connection before its answer was read (a rejection followed at once by the close
        # can be lost that way): ask once more.
    if not assoc.is_established:
        raise association_failure(node, local, assoc, connected.is_set(), closed_early)
    receive_in_bulk(assoc)
    try:
        yield assoc
    except Cancelled:
        if assoc.is_established:  # the operation was ended with the node (C-CANCEL answered)
            assoc.release()
        raise
    except BaseException:
        if assoc.is_established:
            assoc.abort()
        raise
    if assoc.is_established:
        assoc.release()


def association_failure(node: PacsNode, local: LocalStation, assoc: Association, connected: bool,
                        closed_early: bool = False) -> PacsError:
    """Why an association with ``node`` was not established, in one line."""
    if not connected:
        return PacsError(f"{node}: cannot connect ({connection_problem(node)}); check the host and port, and that "
                         "the PACS is running")
    answer = assoc.acceptor.primitive
    if assoc.is_rejected and answer is not None:
        if answer.result_source == 1 and answer.diagnostic == 7:
            return PacsError(f"{node}: association rejected: the node does not answer to the AE title "
                             f"{node.ae_title}; check the node's AE title")
        if answer.result_source == 1 and answer.diagnostic == 3:
            return PacsError(f"{node}: association rejected: the node does not know MedStation's AE title "
                             f"{local.ae_title}; ask its administrator to add {local.ae_title} with this computer's "
                             "address, or set the title it knows with 'medstation pacs local --ae-title'")
        return PacsError(f"{node}: association rejected ({answer.result_str.lower()}, {answer.source_str}: "
                         f"{answer.reason_str})")
    if answer is None and closed_early:
        return PacsError(f"{node}: the node closed the connection without answering the association request; it may "
                         f"refuse the AE titles (called {node.ae_title}, calling {local.ae_title})")
    if answer is None:
        return PacsError(f"{node}: no answer to the association request within {node.timeout_s:g} s; the node may "
                         "be busy, or the port may not be a DICOM service")
    if answer.result == 0 and not assoc.accepted_contexts:
        return PacsError(f"{node}: the node accepted none of the services MedStation asked for")
    return PacsError(f"{node}: the association was aborted while it was being set up")


def connection_problem(node: PacsNode) -> str:
    """What the operating system says when connecting to the node (for a message)."""
    try:
        with socket.create_connection((node.host, node.port), timeout=min(node.timeout_s, 10.0)):
            return "the connection closed at once"
    except socket.gaierror:
        return f"host name {node.host!r} not found"
    except TimeoutError:
        return f"no answer within {min(node.timeout_s, 10.0):g} s"
    except OSError as error:
        if error.errno == errno.ECONNREFUSED:
            return f"connection refused: nothing listens on port {node.port}"
        return error.strerror or str(error)


def check_transfer(node: PacsNode, assoc: Association, status, done: int, total: int | None, verb: str,
                   advice: str) -> None:
    """Raise :class:`TransferAborted` when a response is missing because the association broke off or timed out."""
    if status:  # a response arrived
        return
    counted = f"{done} of {total}" if total else f"{done}"
    if assoc.is_aborted or not assoc.is_established:
        reason = "the association was aborted (the node stopped or the connection broke)"
    else:
        reason = f"no answer within {node.timeout_s:g} s"
        assoc.abort()
    raise TransferAborted(f"{node}: {verb} broke off after {counted} instances: {reason}; {advice}", done)
