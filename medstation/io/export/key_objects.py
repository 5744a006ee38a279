"""Key images flagged by the reader, as a Key Object Selection document ("Of Interest")."""

from __future__ import annotations

from collections.abc import Sequence

from medstation.io.export.equipment import DEVICE_SERIAL, MANUFACTURER, MODEL_NAME, SERIES_NUMBERS, copy_identity_status
from medstation.io.export.files import ExportError
from medstation.io.export.sources import SourceImages


def key_object_selection(images: Sequence[tuple[SourceImages, int]], description: str = "", reader: str = ""):
    """A KOS document selecting slice ``k`` of each ``(source, k)`` (all of one study).

    Raises
    ------
    ExportError
        When no image is given or they belong to different studies.
    """
    import highdicom as hd
    from highdicom.sr import DeviceObserverIdentifyingAttributes, ObserverContext, PersonObserverIdentifyingAttributes
    from pydicom.sr.codedict import codes

    if not images:
        raise ExportError("no key image flagged; flag at least one image to export a key object selection")
    if len({source.study_uid for source, _ in images}) > 1:
        raise ExportError("the key images belong to different studies; a key object selection covers one study")
    referenced, seen = [], set()
    for source, k in images:
        dataset = source.slice_dataset(k)
        if dataset.SOPInstanceUID not in seen:
            seen.add(dataset.SOPInstanceUID)
            referenced.append(dataset)
    person = None
    if reader.strip():
        name = reader.strip() if "^" in reader else f"{reader.strip()}^"
        person = ObserverContext(observer_type=codes.DCM.Person,
                                 observer_identifying_attributes=PersonObserverIdentifyingAttributes(name=name))
    device = ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=DeviceObserverIdentifyingAttributes(
            uid=hd.UID(), name=MODEL_NAME, manufacturer_name=MANUFACTURER, model_name=MODEL_NAME,
            serial_number=DEVICE_SERIAL),
    )
    content = hd.ko.KeyObjectSelection(document_title=codes.DCM.OfInterest, referenced_objects=referenced,
                                       observer_person_context=person, observer_device_context=device,
                                       description=description[:1024] or None)
    document = hd.ko.KeyObjectSelectionDocument(
        evidence=referenced, content=content, series_instance_uid=hd.UID(), series_number=SERIES_NUMBERS["kos"],
        sop_instance_uid=hd.UID(), instance_number=1, manufacturer=MANUFACTURER,
    )
    document.SeriesDescription = "Key images"
    copy_identity_status(document, images[0][0].first)
    return document
