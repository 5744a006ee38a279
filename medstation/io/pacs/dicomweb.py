"""DICOMweb with a node (dicomweb-client over requests): QIDO-RS search, WADO-RS retrieve, STOW-RS send, with
basic or bearer authentication and every failure turned into one line naming the node."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from medstation.errors import Cancelled
from medstation.io.pacs.dimse import MAX_STUDIES_FOR_SERIES, series_of
from medstation.io.pacs.errors import PacsError, TransferAborted
from medstation.io.pacs.nodes import PacsNode
from medstation.io.pacs.outgoing import OutgoingFile
from medstation.io.pacs.part10 import file_identity
from medstation.io.pacs.query import RETURN_KEYS, PacsMatch, QueryFilters, match_from_dataset
from medstation.io.pacs.storage import ReceivedStore
from medstation.progress import CancelToken, ProgressCallback, check_cancelled, report

STOW_BATCH_BYTES = 32 * 1024 * 1024
"""A STOW-RS request carries files up to about this many bytes (at least one file)."""
ANY_TRANSFER_SYNTAX = (("application/dicom", "*"),)
MULTIPART_ANY_SYNTAX = 'multipart/related; type="application/dicom"; transfer-syntax=*'
RETRIEVE_ADVICE = "the instances received whole are kept and listed; retrieve again to complete it"


def client_for(node: PacsNode, secret: str | None = None):
    """A DICOMwebClient for ``node`` whose requests time out after the node's timeout, without retries (a failure
    is reported at once)."""
    import requests
    from dicomweb_client.api import DICOMwebClient
    from requests.adapters import HTTPAdapter

    class TimeoutAdapter(HTTPAdapter):
        def send(self, request, **kwargs):
            kwargs["timeout"] = kwargs.get("timeout") or node.timeout_s
            # requests writes the QIDO-RS wildcard * as %2A; '*' may stand as it is in a query (RFC 3986), and
            # Orthanc's DICOMweb plugin (1.7) matches only the literal one.
            request.url = request.url.replace("%2A", "*")
            return super().send(request, **kwargs)

    session = requests.Session()
    session.mount("http://", TimeoutAdapter())
    session.mount("https://", TimeoutAdapter())
    if node.auth == "basic":
        session.auth = (node.username, secret or "")
    elif node.auth == "bearer":
        session.headers["Authorization"] = f"Bearer {secret or ''}"
    client = DICOMwebClient(url=node.url, session=session)
    client.set_http_retry_params(retry=False)
    return client


@contextmanager
def web_errors(node: PacsNode, what: str) -> Iterator[None]:
    """Turn requests' errors into :class:`PacsError` naming the node (never the secret)."""
    import requests

    try:
        yield
    except requests.exceptions.ConnectTimeout as error:
        raise PacsError(f"{node}: cannot connect (no answer within {node.timeout_s:g} s)") from error
    except requests.exceptions.ConnectionError as error:
        raise PacsError(f"{node}: cannot connect during {what} ({_reason(error)}); check the URL, and that the "
                        "server is running") from error
    except requests.exceptions.Timeout as error:
        raise PacsError(f"{node}: no answer to {what} within {node.timeout_s:g} s") from error
    except requests.exceptions.HTTPError as error:
        raise PacsError(f"{node}: {what} refused: {_http_reason(node, error.response)}") from error
    except requests.exceptions.RequestException as error:
        raise PacsError(f"{node}: {what} failed ({type(error).__name__})") from error


def _reason(error: Exception) -> str:
    text = str(error)
    for known in ("Connection refused", "Name or service not known", "No route to host", "Connection reset",
                  "Remote end closed connection", "IncompleteRead", "Connection aborted"):
        if known in text:
            return known.lower()
    return type(error).__name__


def _http_reason(node: PacsNode, response) -> str:
    code = getattr(response, "status_code", None)
    if code in (401, 403):
        hint = "no credentials were given" if node.auth == "none" else "check the user name and password or token"
        return f"HTTP {code}, not authorised ({hint})"
    if code == 404:
        return f"HTTP 404, not found (is {node.url} the DICOMweb base URL?)"
    return f"HTTP {code}"


def echo(node: PacsNode, secret: str | None = None) -> float:
    """A QIDO-RS search for one study, the DICOMweb counterpart of C-ECHO; returns the round trip in seconds."""
    client = client_for(node, secret)
    started = time.perf_counter()
    with web_errors(node, "a study search"):
        client.search_for_studies(limit=1, fields=["StudyInstanceUID"])
    return time.perf_counter() - started


def _datasets(answers: list[dict]):
    from pydicom import Dataset

    return [Dataset.from_json(answer) for answer in answers]


def find(node: PacsNode, filters: QueryFilters, secret: str | None = None,
         cancel: CancelToken = None) -> list[PacsMatch]:
    """QIDO-RS at ``filters.level``; patients are the matching studies' patients (QIDO-RS has no patient level)."""
    client = client_for(node, secret)
    keys = filters.study_keys() if filters.level != "patient" else {
        key: value for key, value in filters.study_keys().items() if key in ("PatientName", "PatientID")}
    with web_errors(node, "the study search"):
        studies = [match_from_dataset("study", item) for item in _datasets(client.search_for_studies(
            search_filters=keys, fields=list(RETURN_KEYS["study"])))]
    studies.sort(key=lambda match: (match.study_date, match.study_uid), reverse=True)
    if filters.level == "patient":
        patients: dict[tuple[str, str], int] = {}
        for study in studies:
            key = (study.patient_name, study.patient_id)
            patients[key] = patients.get(key, 0) + 1
        return [PacsMatch("patient", name, patient_id, studies=count)
                for (name, patient_id), count in sorted(patients.items())]
    if filters.level == "study":
        return studies
    matches = []
    for study in studies[:MAX_STUDIES_FOR_SERIES]:
        check_cancelled(cancel)
        with web_errors(node, "the series search"):
            found = _datasets(client.search_for_series(study.study_uid, search_filters=filters.series_keys(),
                                                       fields=list(RETURN_KEYS["series"])))
        series = sorted((match_from_dataset("series", item) for item in found),
                        key=lambda match: (match.series_number is None, match.series_number or 0, match.series_uid))
        matches.extend(series_of(study, item) for item in series)
    return matches


def _series_to_fetch(client, node: PacsNode, study_uid: str, series_uid: str,
                     missing_ok: bool = False) -> list[tuple[str, int]]:
    """(series UID, instance count) of what a retrieve fetches."""
    with web_errors(node, "the series search"):
        found = _datasets(client.search_for_series(study_uid, fields=["SeriesInstanceUID",
                                                                      "NumberOfSeriesRelatedInstances"]))
    series = [(str(item.SeriesInstanceUID), int(item.get("NumberOfSeriesRelatedInstances", 0) or 0))
              for item in found if not series_uid or str(item.SeriesInstanceUID) == series_uid]
    if not series and not missing_ok:
        raise PacsError(f"{node}: holds no {'series ' + series_uid + ' of ' if series_uid else ''}study {study_uid}")
    return series


def holdings(node: PacsNode, study_uid: str, series_uid: str, list_series: set[str], secret: str | None = None,
             cancel: CancelToken = None) -> tuple[dict[str, int], dict[str, set[str]]]:
    """What the node holds of a study (or one series of it): its series with their instance counts, and the SOP
    instance UIDs of the series in ``list_series`` (QIDO-RS)."""
    client = client_for(node, secret)
    counts = dict(_series_to_fetch(client, node, study_uid, series_uid, missing_ok=True))
    listed = {}
    for uid in sorted(set(counts) & list_series):
        check_cancelled(cancel)
        with web_errors(node, "the instance search"):
            found = _datasets(client.search_for_instances(study_uid, uid, fields=["SOPInstanceUID"]))
        listed[uid] = {str(item.SOPInstanceUID) for item in found if item.get("SOPInstanceUID")}
    return counts, listed


def wado_retrieve(node: PacsNode, study_uid: str, series_uid: str, store: ReceivedStore, secret: str | None = None,
                  progress: ProgressCallback | None = None, cancel: CancelToken = None,
                  sop_uids: tuple[str, ...] = ()) -> int:
    """WADO-RS: stream each series of the study (or the one series, or the listed instances of it) into ``store``,
    instance by instance, in the transfer syntax the node keeps them in; returns the instances received."""
    client = client_for(node, secret)
    series = [(series_uid, len(sop_uids))] if sop_uids else _series_to_fetch(client, node, study_uid, series_uid)
    total = sum(count for _, count in series) or None
    done = 0
    report(progress, 0.0, f"{node.name}: asking for the instances")
    raw = _files_available(client)
    for uid, _ in series:
        if raw:
            instances = _instance_files(client, study_uid, uid, sop_uids)
        else:
            instances = (client.retrieve_instance(study_uid, uid, sop, media_types=ANY_TRANSFER_SYNTAX)
                         for sop in sop_uids) if sop_uids else client.iter_series(study_uid, uid,
                                                                                   media_types=ANY_TRANSFER_SYNTAX)
        try:
            with web_errors(node, "the retrieve"):
                for instance in instances:
                    _save(store, instance)
                    done += 1
                    report(progress, done / total if total else 0.0,
                           f"{node.name}: {done} of {total or '?'} instances")
                    if cancel is not None and cancel.is_set():
                        raise Cancelled(f"{node}: retrieve cancelled after {done} instances; {RETRIEVE_ADVICE}")
        except PacsError as error:
            raise TransferAborted(f"{error}; {done} instances received whole are kept and listed; retrieve again "
                                  "to complete it", done) from error
        finally:
            close = getattr(instances, "close", None)
            if close is not None:
                close()
    return done


def _files_available(client) -> bool:
    """Whether this dicomweb-client has the request and multipart helpers :func:`_instance_files` uses."""
    try:
        from dicomweb_client.web import _Transaction  # noqa: F401
    except ImportError:
        return False
    return all(callable(getattr(client, name, None)) for name in (
        "_http_get", "_get_series_url", "_get_instances_url", "_decode_multipart_message"))


def _instance_files(client, study_uid: str, series_uid: str, sop_uids: tuple[str, ...]) -> Iterator[bytes]:
    """Each instance of the series (or each listed one) as the bytes of the DICOM file the node sent, in the
    transfer syntax it keeps (WADO-RS), not decoded: the parts of its multipart answers, split by dicomweb-client."""
    from dicomweb_client.web import _Transaction

    urls = [client._get_instances_url(_Transaction.RETRIEVE, study_uid, series_uid, sop) for sop in sop_uids] \
        if sop_uids else [client._get_series_url(_Transaction.RETRIEVE, study_uid, series_uid)]
    for url in urls:
        response = client._http_get(url, headers={"Accept": MULTIPART_ANY_SYNTAX}, stream=True)
        with response:
            if response.headers.get("Content-Type", "").startswith("application/dicom"):
                yield response.content  # one instance sent bare, as some servers do
            else:
                yield from client._decode_multipart_message(response, stream=True)


def _save(store: ReceivedStore, instance) -> None:
    """Store one instance received by WADO-RS: file bytes as they came (where their UIDs can be read without
    decoding), else decoded and written by pydicom."""
    if isinstance(instance, (bytes, bytearray)):
        identity = file_identity(instance)
        if identity is not None:
            store.save_encoded([instance], *identity)
            return
        from io import BytesIO

        from pydicom import dcmread

        instance = dcmread(BytesIO(instance))
    store.save_dataset(instance)


def stow_send(node: PacsNode, files: list[OutgoingFile], secret: str | None = None,
              progress: ProgressCallback | None = None, cancel: CancelToken = None) -> list[tuple[str, str]]:
    """STOW-RS in requests of up to :data:`STOW_BATCH_BYTES`; returns the files the node refused, with reasons."""
    from pydicom import dcmread

    client = client_for(node, secret)
    refused: list[tuple[str, str]] = []
    sent = 0
    for batch in _batches(files):
        if cancel is not None and cancel.is_set():
            raise Cancelled(f"{node}: send cancelled after {sent} of {len(files)} instances; the instances sent "
                            "before are stored there; send again to complete it")
        report(progress, sent / len(files), f"{node.name}: sending {sent + 1}-{sent + len(batch)} of {len(files)}")
        datasets = [dcmread(item.path) for item in batch]
        with web_errors(node, "the send"):
            answer = client.store_instances(datasets)
        refused.extend(_stow_failures(answer, batch))
        sent += len(batch)
    report(progress, 1.0, f"{node.name}: {len(files) - len(refused)} instances sent")
    return refused


def _batches(files: list[OutgoingFile]) -> Iterator[list[OutgoingFile]]:
    batch: list[OutgoingFile] = []
    size = 0
    for item in files:
        length = Path(item.path).stat().st_size
        if batch and size + length > STOW_BATCH_BYTES:
            yield batch
            batch, size = [], 0
        batch.append(item)
        size += length
    if batch:
        yield batch


def _stow_failures(answer, batch: list[OutgoingFile]) -> list[tuple[str, str]]:
    """The files a STOW-RS answer lists as failed (FailedSOPSequence), matched by SOP instance UID."""
    from pydicom import dcmread

    failed = {}
    for item in answer.get("FailedSOPSequence", []) if answer is not None else []:
        reason = item.get("FailureReason")
        failed[str(item.get("ReferencedSOPInstanceUID", ""))] = f"refused (failure reason {reason})"
    if not failed:
        return []
    refused = []
    for item in batch:
        uid = str(dcmread(item.path, stop_before_pixels=True, specific_tags=["SOPInstanceUID"]).SOPInstanceUID)
        if uid in failed:
            refused.append((str(item.path), failed[uid]))
    return refused
