"""The overlay burned into a copy of the image, as an RGB Secondary Capture, for viewers without Parametric Maps.

It is a picture, not data: the heat map blended over the windowed image as the workstation shows it. It belongs to
the source's study, is marked DERIVED with the source as its derivation, and carries no text in its pixels
(BurnedInAnnotation NO).
"""

from __future__ import annotations

import numpy as np

from medstation.io.export.equipment import MANUFACTURER, SERIES_NUMBERS, copy_identity_status, equipment
from medstation.io.export.files import ExportError
from medstation.io.export.sources import SourceImages

_LETTERS = (("L", "R"), ("P", "A"), ("H", "F"))


def patient_orientation(dataset) -> tuple[str, str]:
    """PatientOrientation of an image (rows, columns): its own, else read from ImageOrientationPatient (the patient
    direction nearest each axis).

    Raises
    ------
    ExportError
        When the image says neither.
    """
    own = tuple(str(value) for value in dataset.get("PatientOrientation", "") or ())
    if len(own) == 2:
        return own
    cosines = dataset.get("ImageOrientationPatient")
    if cosines is None or len(cosines) != 6:
        raise ExportError(f"{dataset.get('SOPInstanceUID', 'image')}: no patient orientation; a secondary capture "
                          "of it cannot say which way the patient lies")
    return tuple(_direction_letters(np.asarray(cosines[axis:axis + 3], float)) for axis in (0, 3))


def _direction_letters(direction: np.ndarray) -> str:
    axis = int(np.argmax(np.abs(direction)))
    return _LETTERS[axis][0 if direction[axis] > 0 else 1]


def overlay_secondary_capture(rgb: np.ndarray, source: SourceImages, k: int, description: str):
    """An RGB Secondary Capture of ``rgb`` (uint8 ``[row, column, 3]``), derived from slice ``k`` of ``source``."""
    import highdicom as hd
    from pydicom.dataset import Dataset

    reference = source.slice_dataset(k)
    orientation = patient_orientation(reference)
    sc = hd.sc.SCImage.from_ref_dataset(
        ref_dataset=reference, pixel_array=np.ascontiguousarray(rgb, dtype=np.uint8), photometric_interpretation="RGB",
        bits_allocated=8, coordinate_system="PATIENT", series_instance_uid=hd.UID(),
        series_number=SERIES_NUMBERS["sc"], sop_instance_uid=hd.UID(), instance_number=1,
        manufacturer=MANUFACTURER, patient_orientation=orientation,
        transfer_syntax_uid="1.2.840.10008.1.2.1",
    )
    info = equipment()
    sc.ManufacturerModelName, sc.SoftwareVersions = info["manufacturer_model_name"], info["software_versions"]
    sc.SeriesDescription = description[:64]
    sc.ImageType = ["DERIVED", "SECONDARY"]
    sc.BurnedInAnnotation = "NO"
    sc.Laterality = reference.get("Laterality", "")
    sc.DerivationDescription = description[:1024]
    source_item = Dataset()
    source_item.ReferencedSOPClassUID = reference.SOPClassUID
    source_item.ReferencedSOPInstanceUID = reference.SOPInstanceUID
    if source.frames is not None:
        source_item.ReferencedFrameNumber = source.frames[k]
    sc.SourceImageSequence = [source_item]
    copy_identity_status(sc, reference)
    return sc
