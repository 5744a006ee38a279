"""Sending DICOM files to a DIMSE node with C-STORE (pynetdicom), each file sent as it is on disk."""

from __future__ import annotations

from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

from medstation.errors import Cancelled
from medstation.io.pacs.associations import application_entity, association, check_transfer
from medstation.io.pacs.errors import PacsError
from medstation.io.pacs.nodes import LocalStation, PacsNode
from medstation.io.pacs.outgoing import OutgoingFile
from medstation.progress import CancelToken, ProgressCallback, report

MAX_CONTEXTS = 128
ADVICE = "the instances sent before are stored there; send again to complete it"


def c_store(node: PacsNode, local: LocalStation, files: list[OutgoingFile],
            progress: ProgressCallback | None = None, cancel: CancelToken = None) -> list[tuple[str, str]]:
    """Send ``files`` in one association; returns the files the node refused, with its reasons. Cancel stops
    between files (each instance arrives whole or not at all)."""
    syntaxes: dict[str, list[str]] = {}
    for item in files:
        wanted = syntaxes.setdefault(item.sop_class_uid, [])
        if item.transfer_syntax_uid not in wanted:
            wanted.append(item.transfer_syntax_uid)
    if len(syntaxes) > MAX_CONTEXTS:
        raise PacsError(f"{node}: {len(syntaxes)} kinds of instance (SOP classes) in one send; at most "
                        f"{MAX_CONTEXTS} fit one association: send fewer folders at a time")
    ae = application_entity(local, node)
    for sop_class, wanted in syntaxes.items():
        for fallback in (ExplicitVRLittleEndian, ImplicitVRLittleEndian):
            if fallback not in wanted:
                wanted.append(fallback)
        ae.add_requested_context(sop_class, wanted)
    refused: list[tuple[str, str]] = []
    with association(ae, node, local) as assoc:
        for number, item in enumerate(files):
            if cancel is not None and cancel.is_set():
                raise Cancelled(f"{node}: send cancelled after {number} of {len(files)} instances; {ADVICE}")
            report(progress, number / len(files), f"{node.name}: sending {number + 1} of {len(files)}")
            accepted = [cx for cx in assoc.accepted_contexts if cx.abstract_syntax == item.sop_class_uid]
            if not any(cx.transfer_syntax[0] == item.transfer_syntax_uid for cx in accepted):
                refused.append((str(item.path), f"the node does not take this kind of instance "
                                f"({item.sop_class_uid}) in its transfer syntax {item.transfer_syntax_uid}"))
                continue
            status = assoc.send_c_store(item.path)
            check_transfer(node, assoc, status, number, len(files), "the send", ADVICE)
            if status.Status not in (0x0000, 0xB000, 0xB007, 0xB006):
                comment = str(status.get("ErrorComment", "")).strip()
                refused.append((str(item.path), f"refused with status 0x{status.Status:04X}"
                                f"{': ' + comment if comment else ''}"))
    report(progress, 1.0, f"{node.name}: {len(files) - len(refused)} instances sent")
    return refused
