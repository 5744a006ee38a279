"""C-ECHO and C-FIND with a DIMSE node (pynetdicom)."""

from __future__ import annotations

import dataclasses
import time

from pydicom.dataset import Dataset
from pynetdicom.sop_class import (
    PatientRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelFind,
    Verification,
)

from medstation.io.pacs.associations import application_entity, association, check_transfer
from medstation.io.pacs.errors import PacsError
from medstation.io.pacs.nodes import LocalStation, PacsNode
from medstation.io.pacs.query import RETURN_KEYS, PacsMatch, QueryFilters, match_from_dataset
from medstation.progress import CancelToken, check_cancelled

MAX_STUDIES_FOR_SERIES = 200
"""A series-level query without a study UID asks for the series of at most this many matching studies."""
_PENDING = (0xFF00, 0xFF01)


def echo(node: PacsNode, local: LocalStation) -> float:
    """C-ECHO; returns the round trip in seconds. :class:`PacsError` naming the node on any failure."""
    ae = application_entity(local, node)
    ae.add_requested_context(Verification)
    started = time.perf_counter()
    with association(ae, node, local) as assoc:
        status = assoc.send_c_echo()
        if not status:
            check_transfer(node, assoc, status, 0, None, "the echo", "try again")
        if status.Status != 0x0000:
            raise PacsError(f"{node}: answered the echo with status 0x{status.Status:04X}")
    return time.perf_counter() - started


def _identifier(level: str, keys: dict[str, str]) -> Dataset:
    identifier = Dataset()
    identifier.QueryRetrieveLevel = level.upper()
    for keyword in RETURN_KEYS[level]:
        setattr(identifier, keyword, "")
    for keyword, value in keys.items():
        setattr(identifier, keyword, value)
    return identifier


def _c_find(assoc, node: PacsNode, identifier: Dataset, model, cancel: CancelToken) -> list[Dataset]:
    answers = []
    for status, found in assoc.send_c_find(identifier, model):
        check_transfer(node, assoc, status, len(answers), None, "the query", "try again")
        if status.Status in _PENDING:
            if found is not None:
                answers.append(found)
            if cancel is not None and cancel.is_set():
                assoc.abort()
                check_cancelled(cancel)
        elif status.Status != 0x0000:
            comment = str(status.get("ErrorComment", "")).strip()
            raise PacsError(f"{node}: the query failed with status 0x{status.Status:04X}"
                            f"{': ' + comment if comment else ''}")
    return answers


def find(node: PacsNode, local: LocalStation, filters: QueryFilters, cancel: CancelToken = None) -> list[PacsMatch]:
    """C-FIND at ``filters.level``: patients (Patient Root), studies or series (Study Root; series of each matching
    study when no study UID is given, with the study's patient attributes)."""
    ae = application_entity(local, node)
    ae.add_requested_context(PatientRootQueryRetrieveInformationModelFind)
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
    with association(ae, node, local) as assoc:
        if filters.level == "patient":
            keys = {key: value for key, value in filters.study_keys().items() if key in ("PatientName", "PatientID")}
            found = _c_find(assoc, node, _identifier("patient", keys), PatientRootQueryRetrieveInformationModelFind,
                            cancel)
            return sorted((match_from_dataset("patient", item) for item in found),
                          key=lambda match: (match.patient_name, match.patient_id))
        studies = [match_from_dataset("study", item) for item in _c_find(
            assoc, node, _identifier("study", filters.study_keys()), StudyRootQueryRetrieveInformationModelFind,
            cancel)]
        studies.sort(key=lambda match: (match.study_date, match.study_uid), reverse=True)
        if filters.level == "study":
            return studies
        matches = []
        for study in studies[:MAX_STUDIES_FOR_SERIES]:
            keys = {"StudyInstanceUID": study.study_uid, **filters.series_keys()}
            for item in _c_find(assoc, node, _identifier("series", keys), StudyRootQueryRetrieveInformationModelFind,
                                cancel):
                matches.append(series_of(study, match_from_dataset("series", item)))
        return matches


def series_of(study: PacsMatch, series: PacsMatch) -> PacsMatch:
    """A series match completed with its study's patient and study attributes."""
    return dataclasses.replace(
        study, level="series", modalities=series.modalities, series_uid=series.series_uid,
        series_number=series.series_number, series_description=series.series_description,
        instances=series.instances,
    )


def holdings(node: PacsNode, local: LocalStation, study_uid: str, series_uid: str, list_series: set[str],
             cancel: CancelToken = None) -> tuple[dict[str, int], dict[str, set[str]]]:
    """What the node holds of a study (or one series of it): its series with their instance counts (C-FIND at series
    level), and the SOP instance UIDs of the series in ``list_series`` (C-FIND at image level)."""
    ae = application_entity(local, node)
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
    model = StudyRootQueryRetrieveInformationModelFind
    with association(ae, node, local) as assoc:
        counts = {}
        keys = {"StudyInstanceUID": study_uid, "SeriesInstanceUID": series_uid, "NumberOfSeriesRelatedInstances": ""}
        for item in _c_find(assoc, node, _keys("SERIES", keys), model, cancel):
            uid = str(item.get("SeriesInstanceUID", "") or "")
            if uid and (not series_uid or uid == series_uid):
                counts[uid] = int(item.get("NumberOfSeriesRelatedInstances", 0) or 0)
        listed = {}
        for uid in sorted(set(counts) & list_series):
            keys = {"StudyInstanceUID": study_uid, "SeriesInstanceUID": uid, "SOPInstanceUID": ""}
            listed[uid] = {str(item.SOPInstanceUID) for item in _c_find(assoc, node, _keys("IMAGE", keys), model,
                                                                       cancel) if item.get("SOPInstanceUID")}
    return counts, listed


def _keys(level: str, keys: dict[str, str]) -> Dataset:
    identifier = Dataset()
    identifier.QueryRetrieveLevel = level
    for keyword, value in keys.items():
        setattr(identifier, keyword, value)
    return identifier
