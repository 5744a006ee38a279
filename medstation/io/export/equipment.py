"""What every object MedStation derives says about where it came from: equipment, series, identity status."""

from __future__ import annotations

from medstation import __version__

MANUFACTURER = "MedStation"
MODEL_NAME = "MedStation workstation"
DEVICE_SERIAL = "MEDSTATION"
"""No hardware serial: the software is the device; its version is in SoftwareVersions."""

SERIES_NUMBERS = {"sr": 900, "kos": 901, "seg": 902, "pm": 903, "sc": 904}
"""Series numbers of derived objects, high so they sort after the acquired series."""


def equipment() -> dict[str, str]:
    """The keyword arguments highdicom's constructors take for the equipment that made an object."""
    return {"manufacturer": MANUFACTURER, "manufacturer_model_name": MODEL_NAME,
            "software_versions": __version__, "device_serial_number": DEVICE_SERIAL}


def copy_identity_status(derived, source) -> None:
    """Carry the source's PatientIdentityRemoved and de-identification method to ``derived`` (a derived object
    of de-identified images is itself de-identified, and must say how)."""
    if str(source.get("PatientIdentityRemoved", "")).upper() != "YES":
        return
    derived.PatientIdentityRemoved = "YES"
    if "DeidentificationMethodCodeSequence" in source:
        derived.DeidentificationMethodCodeSequence = source.DeidentificationMethodCodeSequence
    method = source.get("DeidentificationMethod", "")
    if method or "DeidentificationMethodCodeSequence" not in source:
        derived.DeidentificationMethod = method or "as stated by the source images; method not given there"


def copy_image_orientation(derived, source) -> None:
    """PatientOrientation for images without a frame of reference (a Type 2C attribute of such images)."""
    if "FrameOfReferenceUID" not in source and "PatientOrientation" not in derived:
        derived.PatientOrientation = source.get("PatientOrientation", "")
