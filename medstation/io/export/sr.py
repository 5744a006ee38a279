"""The TID 1500 Measurement Report of a reading: the classifier's results and the reader's measurements.

One Comprehensive 3D SR document per study: its patient and study are the source images'; it references every
image it speaks about (in its evidence), each group names its image, and regions lie in the series' frame of
reference (SCOORD3D) or on an image (SCOORD). The observation context names the reader, when given, and
MedStation as the device observer. A Qualitative Evaluations container holds the statement that the classifier's
result is decision support.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from medstation.core.measurements import Measurement
from medstation.io.export.equipment import (
    DEVICE_SERIAL,
    MANUFACTURER,
    MODEL_NAME,
    SERIES_NUMBERS,
    copy_identity_status,
)
from medstation.io.export.files import ExportError
from medstation.io.export.results import DECISION_SUPPORT, ClassificationResult
from medstation.io.export.sources import SourceImages

DEVICE_UID_ROOT = "1.2.826.0.1.3680043.8.498.1"


@dataclass
class SeriesFindings:
    """What a report says about one source series: classifications of its slices and the reader's measurements.

    ``affine`` is the loaded volume's voxel ``(i, j, k)`` to LPS (mm) matrix; ``modality`` chooses the unit of the
    region statistics (HU for CT).
    """

    source: SourceImages
    affine: np.ndarray
    modality: str = ""
    results: list[ClassificationResult] = field(default_factory=list)
    measurements: list[Measurement] = field(default_factory=list)


def measurement_report(findings: Sequence[SeriesFindings], reader: str = ""):
    """The Comprehensive 3D SR (a ``pydicom.Dataset``) of ``findings``, all of one study.

    Raises
    ------
    ExportError
        When there is nothing to report, or the series belong to different studies.
    """
    import highdicom as hd
    from highdicom.sr import (
        CodedConcept,
        ContainerContentItem,
        DeviceObserverIdentifyingAttributes,
        MeasurementReport,
        ObservationContext,
        ObserverContext,
        PersonObserverIdentifyingAttributes,
        RelationshipTypeValues,
        TextContentItem,
    )
    from pydicom.sr.codedict import codes

    from medstation.io.export.sr_content import classification_group, evidence, measurement_group, value_unit

    findings = [item for item in findings if item.results or item.measurements]
    if not findings:
        raise ExportError("nothing to report: no classification result and no measurement")
    studies = {item.source.study_uid for item in findings}
    if len(studies) > 1:
        raise ExportError(f"{findings[0].source.paths[0]}: the images belong to {len(studies)} studies; a report "
                          "covers one study, so report each study on its own")
    groups, number = [], 0
    for item in findings:
        for result in item.results:
            number += 1
            groups.append(classification_group(result, item.source, number))
        unit = value_unit(item.modality)
        groups += [measurement_group(measurement, item.source, item.affine, unit) for measurement in item.measurements]
    device = ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=DeviceObserverIdentifyingAttributes(
            uid=DEVICE_UID_ROOT, name=MODEL_NAME, manufacturer_name=MANUFACTURER, model_name=MODEL_NAME,
            serial_number=DEVICE_SERIAL),
    )
    person = None
    if reader.strip():
        person = ObserverContext(observer_type=codes.DCM.Person,
                                 observer_identifying_attributes=PersonObserverIdentifyingAttributes(name=_person(reader)))
    context = ObservationContext(observer_person_context=person, observer_device_context=device)
    report = MeasurementReport(observation_context=context,
                               procedure_reported=CodedConcept("363679005", "SCT", "Imaging"),
                               imaging_measurements=groups)
    if any(item.results for item in findings):
        statement = ContainerContentItem(name=CodedConcept("C0034375", "UMLS", "Qualitative Evaluations"),
                                         relationship_type=RelationshipTypeValues.CONTAINS)
        statement.ContentSequence = [TextContentItem(name=codes.DCM.Comment, value=DECISION_SUPPORT,
                                                     relationship_type=RelationshipTypeValues.CONTAINS)]
        report[0].ContentSequence.append(statement)
    sources = [item.source for item in findings]
    document = hd.sr.Comprehensive3DSR(
        evidence=evidence(sources), content=report[0], series_instance_uid=hd.UID(),
        series_number=SERIES_NUMBERS["sr"], sop_instance_uid=hd.UID(), instance_number=1,
        manufacturer=MANUFACTURER, is_complete=True, series_description="MedStation report",
    )
    document.SoftwareVersions = _software()
    copy_identity_status(document, sources[0].first)
    return document


def _person(reader: str) -> str:
    """A reader's name as a DICOM person name (``Family^Given``); a single word stays the family name."""
    name = reader.strip()
    return name if "^" in name else f"{name}^"


def _software() -> str:
    from medstation import __version__

    return __version__
