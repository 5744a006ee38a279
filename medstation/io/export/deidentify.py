"""De-identification per DICOM PS3.15 Annex E: the Basic Application Level Confidentiality Profile with the Retain
Longitudinal Temporal Information option (dates shifted by a per-patient offset, or kept in full by choice) and
the Clean Descriptors option.

What each attribute gets (remove X, empty Z, dummy D, new UID U, and the "X unless Z/D required" mixes) is Table
E.1-1 of the current standard as the ``dicom-anonymizer`` package ships it (``dicomfields_2026c``, 655 attributes,
regenerated from the standard by its maintainers). Its own ``anonymize_dataset`` is not used, for four reasons
seen in its code: it applies an action only to top-level attributes, so a date or UID nested in a sequence (the
per-frame functional groups of an enhanced MR, a referenced image) keeps its value; its UID map is one
module-level dictionary shared by every export of the process; dates are replaced by 00010101 rather than
shifted; and a removed date is written back as 00010101. Here the table is applied at every depth, and:

- **Private attributes** are removed, creators included, except a copy of the Siemens CSA image header cut down
  to a mosaic's tiling, slice normal and diffusion encoding (Retain Safe Private option, 113111, said so where
  kept): without it a Siemens mosaic no longer knows its tiling and slice geometry; the full header also holds the
  station name and protocol text, which do not travel. Public attributes no dictionary knows are removed (an
  unknown attribute may hold anything).
- **UIDs**: every UI value that is not a registered DICOM UID (SOP classes, transfer syntaxes, coding schemes) is
  replaced, whether the table lists the attribute or not; one :class:`Deidentifier` maps each original UID to one
  new UID, so the series and studies of one export still group and reference each other.
- **Dates** (DA, DT): shifted by the patient's offset (a whole number of days, random per patient, the same for
  every file of the patient) or kept with ``keep_dates``; times (TM) are kept, as the option allows. Birth date and
  time are emptied (the option does not retain them).
- **Person names** are emptied wherever they are; PatientName and PatientID become the patient's pseudonym
  (``ANON-`` and eight hex digits, random per patient).
- **Clean Descriptors**: study, series, protocol and procedure descriptions are replaced by words made from the
  coded attributes (``CT study``, ``CT series 3``), which hold no identity; other free text follows the basic
  profile (removed or emptied).
- The result says so: PatientIdentityRemoved YES, DeidentificationMethod in words (several values),
  DeidentificationMethodCodeSequence with 113100, 113105 and 113107 (dates shifted) or 113106 (dates kept),
  LongitudinalTemporalInformationModified MODIFIED or UNMODIFIED.

Pixel data is not changed. An image that may have identity burned into its pixels (BurnedInAnnotation YES, or a
secondary capture, ultrasound or external-camera photograph without an explicit NO) is refused unless the user
confirms (``allow_burned_in``), and then the method says that its pixels were not cleaned.
"""

from __future__ import annotations

import datetime
import random
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from medstation import __version__
from medstation.errors import MedStationError
from medstation.io.export.csa_header import reduced_csa_header

BIRTH = frozenset({0x00100030, 0x00100032})  # PatientBirthDate, PatientBirthTime
CLEANED_DESCRIPTORS = {
    0x00081030: "study",  # StudyDescription
    0x0008103E: "series",  # SeriesDescription
    0x00181030: "protocol",  # ProtocolName
    0x00400254: "procedure step",  # PerformedProcedureStepDescription
    0x00321060: "procedure",  # RequestedProcedureDescription
}
BURNED_IN_MODALITIES = frozenset({"SC", "US", "XC"})
SECONDARY_CAPTURE_PREFIX = "1.2.840.10008.5.1.4.1.1.7"
DUMMY_TEXT = "DEIDENTIFIED"
TEXT_VRS = frozenset({"AE", "CS", "LO", "LT", "SH", "ST", "UC", "UT"})
NUMBER_VRS = frozenset({"FD", "FL", "SL", "SS", "SV", "UL", "US", "UV"})
METHOD_CODES = {
    "basic": ("113100", "Basic Application Confidentiality Profile"),
    "descriptors": ("113105", "Clean Descriptors Option"),
    "modified_dates": ("113107", "Retain Longitudinal Temporal Information Modified Dates Option"),
    "full_dates": ("113106", "Retain Longitudinal Temporal Information Full Dates Option"),
    "safe_private": ("113111", "Retain Safe Private Option"),
}
SAFE_PRIVATE = {(0x0029, "SIEMENS CSA HEADER"): {0x10: "OB"}}
"""Private attributes kept (Retain Safe Private), by private creator and element offset with their VR: the Siemens
CSA image header, reduced to a mosaic's tiling and slice geometry (:mod:`medstation.io.export.csa_header`)."""
MAX_OFFSET_DAYS = 3650


class DeidentificationRefused(MedStationError):
    """A file a de-identified export cannot include (burned-in annotation, or a value it cannot de-identify)."""


class BurnedInAnnotation(DeidentificationRefused):
    """An image that may show identity in its pixels, refused until the user allows it (the workstation asks):
    ``path`` names it, ``reason`` says why its pixels may show identity."""

    def __init__(self, message: str, path: str | Path, reason: str):
        super().__init__(message)
        self.path, self.reason = Path(path), reason


@dataclass
class DeidentificationOptions:
    """``keep_dates``: the Full Dates variant of Retain Longitudinal Temporal Information (default: shifted).
    ``allow_burned_in``: include images that may show identity in their pixels (the user confirmed)."""

    keep_dates: bool = False
    allow_burned_in: bool = False


@dataclass
class DeidentificationTally:
    """What an export did, attribute by attribute (counted over every file and every nesting level)."""

    files: int = 0
    removed: Counter = field(default_factory=Counter)
    emptied: Counter = field(default_factory=Counter)
    replaced: Counter = field(default_factory=Counter)
    uids_remapped: int = 0
    dates_shifted: int = 0
    private_removed: int = 0
    unknown_removed: int = 0
    descriptors_cleaned: int = 0

    def as_dict(self) -> dict:
        return {"files": self.files, "removed": sum(self.removed.values()), "emptied": sum(self.emptied.values()),
                "replaced": sum(self.replaced.values()), "uids_remapped": self.uids_remapped,
                "dates_shifted": self.dates_shifted, "private_removed": self.private_removed,
                "unknown_removed": self.unknown_removed, "descriptors_cleaned": self.descriptors_cleaned}


@dataclass(frozen=True)
class _Patient:
    pseudonym: str
    offset_days: int


@cache
def profile_actions() -> tuple[dict[int, str], list[tuple[int, int, int, int, str]]]:
    """Table E.1-1: ``{tag: action}`` and the repeating-group rows ``(group, element, group mask, element mask,
    action)``; actions ``D``, ``Z``, ``X``, ``U``, ``Z/D``, ``X/Z``, ``X/D``, ``X/Z/D``, ``X/Z/U*``."""
    from dicomanonymizer.dicom_anonymization_databases import dicomfields_2026c as table

    columns = {"D_TAGS": "D", "Z_TAGS": "Z", "X_TAGS": "X", "U_TAGS": "U", "Z_D_TAGS": "Z/D", "X_Z_TAGS": "X/Z",
               "X_D_TAGS": "X/D", "X_Z_D_TAGS": "X/Z/D", "X_Z_U_STAR_TAGS": "X/Z/U*"}
    actions, masked = {}, []
    for column, action in columns.items():
        for row in getattr(table, column):
            if len(row) == 2:
                actions[(row[0] << 16) | row[1]] = action
            else:
                masked.append((*row, action))
    return actions, masked


def _action(tag: int) -> str | None:
    actions, masked = profile_actions()
    found = actions.get(tag)
    if found is not None:
        return found
    group, element = tag >> 16, tag & 0xFFFF
    for row_group, row_element, group_mask, element_mask, action in masked:
        if group & group_mask == row_group & group_mask and element & element_mask == row_element & element_mask:
            return action
    return None


def burned_in_reason(dataset) -> str | None:
    """Why ``dataset``'s pixels may show identity, or None: BurnedInAnnotation YES, or a secondary capture,
    ultrasound or external-camera image without an explicit NO."""
    burned = str(dataset.get("BurnedInAnnotation", "")).upper()
    if burned == "YES":
        return "BurnedInAnnotation is YES"
    modality = str(dataset.get("Modality", "")).upper()
    secondary = str(dataset.get("SOPClassUID", "")).startswith(SECONDARY_CAPTURE_PREFIX)
    if burned != "NO" and (modality in BURNED_IN_MODALITIES or secondary):
        kind = f"a {modality} image" if modality in BURNED_IN_MODALITIES else "a secondary capture"
        return f"{kind} without BurnedInAnnotation NO may show identity in its pixels"
    return None


class Deidentifier:
    """De-identifies the datasets of one export: one UID map, one pseudonym and date offset per patient.

    Parameters
    ----------
    options
        Dates kept or shifted; burned-in annotation allowed or refused.
    seed
        Seeds the pseudonyms and date offsets (tests); by default they come from the operating system's randomness.
    """

    def __init__(self, options: DeidentificationOptions | None = None, seed: int | None = None):
        self.options = options or DeidentificationOptions()
        self.tally = DeidentificationTally()
        self._random = random.Random(seed) if seed is not None else random.SystemRandom()
        self._uids: dict[str, str] = {}
        self._patients: dict[tuple[str, str], _Patient] = {}

    def deidentify(self, dataset, source: str | Path = "") -> None:
        """De-identify ``dataset`` (a ``pydicom.FileDataset``) in place.

        Raises
        ------
        DeidentificationRefused
            Naming ``source``: burned-in annotation without the user's confirmation, or a value that cannot be
            de-identified.
        """
        reason = burned_in_reason(dataset)
        if reason is not None and not self.options.allow_burned_in:
            raise BurnedInAnnotation(f"{source}: {reason}; left out of a de-identified export unless the "
                                     "burned-in annotation is allowed (--allow-burned-in)", source, reason)
        patient = self._patient(dataset)
        try:
            safe = _safe_private(dataset)
            self._clean(dataset, patient, dataset)
            _restore_safe_private(dataset, safe)
            self._finish(dataset, patient, reason, bool(safe))
        except (ValueError, TypeError, KeyError, NotImplementedError) as error:
            raise DeidentificationRefused(f"{source}: cannot be de-identified ({error}); left out") from error
        self.tally.files += 1

    def _patient(self, dataset) -> _Patient:
        key = (str(dataset.get("PatientID", "")), str(dataset.get("PatientName", "")))
        if key not in self._patients:
            pseudonym = f"ANON-{self._random.getrandbits(32):08X}"
            offset = 0 if self.options.keep_dates else -self._random.randint(1, MAX_OFFSET_DAYS)
            self._patients[key] = _Patient(pseudonym, offset)
        return self._patients[key]

    def new_uid(self, uid: str) -> str:
        """The export's replacement for ``uid`` (the same every time it is asked)."""
        from pydicom.uid import generate_uid

        if uid not in self._uids:
            self._uids[uid] = generate_uid()
            self.tally.uids_remapped += 1
        return self._uids[uid]

    def _clean(self, dataset, patient: _Patient, top) -> None:
        for element in list(dataset):
            tag = int(element.tag)
            if element.tag.is_private:
                del dataset[element.tag]
                self.tally.private_removed += 1
                continue
            if element.tag.element == 0:  # group lengths are recomputed on writing
                del dataset[element.tag]
                continue
            if not element.keyword:
                del dataset[element.tag]
                self.tally.unknown_removed += 1
                continue
            self._clean_element(dataset, element, _action(tag), patient, top)

    def _clean_element(self, dataset, element, action: str | None, patient: _Patient, top) -> None:
        keyword, vr = element.keyword, element.VR
        if vr == "SQ":
            if action in ("X", "X/Z"):
                del dataset[element.tag]
                self.tally.removed[keyword] += 1
            elif action == "Z":
                element.value = []
                self.tally.emptied[keyword] += 1
            else:
                for item in element.value:
                    self._clean(item, patient, top)
            return
        tag = int(element.tag)
        if vr in ("DA", "DT") and tag not in BIRTH:
            self._shift(element, patient)
            return
        if tag in (0x00100010, 0x00100020):  # PatientName, PatientID
            element.value = patient.pseudonym
            self.tally.replaced[keyword] += 1
            return
        if tag in CLEANED_DESCRIPTORS and dataset is top:
            element.value = self._descriptor(top, CLEANED_DESCRIPTORS[tag])
            self.tally.descriptors_cleaned += 1
            return
        if vr == "UI":
            self._remap(element)
            return
        if vr == "TM" and action is not None and tag not in BIRTH:
            return
        if vr == "PN" and action is None:
            action = "Z"
        if action is None:
            return
        self._apply(dataset, element, action)

    def _apply(self, dataset, element, action: str) -> None:
        keyword = element.keyword
        if action in ("X", "X/Z", "X/D", "X/Z/D", "X/Z/U*"):
            del dataset[element.tag]
            self.tally.removed[keyword] += 1
        elif action in ("Z", "Z/D") or element.VR in ("PN", "TM", "DA", "DT"):
            element.value = "" if element.VR not in NUMBER_VRS else None
            self.tally.emptied[keyword] += 1
        else:
            element.value = _dummy(element.VR)
            self.tally.replaced[keyword] += 1

    def _remap(self, element) -> None:
        from pydicom.uid import UID_dictionary

        values = element.value if element.VM > 1 else [element.value]
        new = [value if not value or str(value) in UID_dictionary else self.new_uid(str(value)) for value in values]
        element.value = new if element.VM > 1 else new[0]

    def _shift(self, element, patient: _Patient) -> None:
        if not element.value:
            return
        if self.options.keep_dates:
            return
        values = element.value if element.VM > 1 else [element.value]
        shifted = [_shifted(str(value), patient.offset_days) for value in values]
        element.value = shifted if element.VM > 1 else shifted[0]
        self.tally.dates_shifted += 1

    def _descriptor(self, dataset, kind: str) -> str:
        modality = str(dataset.get("Modality", "") or "image")
        if kind == "series" and dataset.get("SeriesNumber") is not None:
            return f"{modality} series {dataset.SeriesNumber}"
        return f"{modality} {kind}"

    def _finish(self, dataset, patient: _Patient, burned_in: str | None, kept_private: bool) -> None:
        from pydicom.dataset import Dataset, FileMetaDataset

        dataset.PatientIdentityRemoved = "YES"
        dates = "full_dates" if self.options.keep_dates else "modified_dates"
        codes = [METHOD_CODES["basic"], METHOD_CODES["descriptors"], METHOD_CODES[dates]]
        if kept_private:
            codes.append(METHOD_CODES["safe_private"])
        items = []
        for value, meaning in codes:
            item = Dataset()
            item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, "DCM", meaning
            items.append(item)
        dataset.DeidentificationMethodCodeSequence = items
        method = [f"MedStation {__version__}", "PS3.15 Basic Profile", "Clean Descriptors",
                  "dates kept" if self.options.keep_dates else "dates shifted per patient"]
        if kept_private:
            method.append("Retain Safe Private: Siemens CSA mosaic geometry")
        if burned_in is not None:
            method.append("burned-in annotation NOT removed (user confirmed)")
        dataset.DeidentificationMethod = method
        dataset.LongitudinalTemporalInformationModified = "UNMODIFIED" if self.options.keep_dates else "MODIFIED"
        old_meta = getattr(dataset, "file_meta", None)
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = dataset.SOPClassUID
        meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
        meta.TransferSyntaxUID = old_meta.TransferSyntaxUID if old_meta is not None and "TransferSyntaxUID" in \
            old_meta else "1.2.840.10008.1.2"
        dataset.file_meta = meta


def _dummy(vr: str):
    """A non-empty value of ``vr`` that says nothing (the profile's D)."""
    if vr in TEXT_VRS:
        return DUMMY_TEXT
    if vr in NUMBER_VRS:
        return 0
    if vr in ("DS", "IS"):
        return "0"
    if vr == "AS":
        return "000Y"
    if vr in ("OB", "OW", "UN", "OF", "OD", "OL", "OV"):
        return b"\0\0"
    if vr == "UR":
        return "urn:none"
    raise ValueError(f"no dummy value for VR {vr}")


def _shifted(value: str, days: int) -> str:
    """A DA or DT value moved by ``days`` (its time and zone kept); empty for one that is not a whole date (a DT of
    a year alone, a range), which no shift can keep safe."""
    try:
        date = datetime.datetime.strptime(value[:8], "%Y%m%d").date()
    except ValueError:
        return ""
    return (date + datetime.timedelta(days=days)).strftime("%Y%m%d") + value[8:]


def _safe_private(dataset) -> list[tuple[int, str, int, str, object]]:
    """The top-level private attributes of :data:`SAFE_PRIVATE` present in ``dataset``."""
    kept = []
    for (group, creator), offsets in SAFE_PRIVATE.items():
        try:
            block = dataset.private_block(group, creator)
        except KeyError:
            continue
        for offset, vr in offsets.items():
            if block.get_tag(offset) in dataset:
                value = reduced_csa_header(bytes(dataset[block.get_tag(offset)].value))
                if value is not None:
                    kept.append((group, creator, offset, vr, value))
    return kept


def _restore_safe_private(dataset, kept: list[tuple[int, str, int, str, object]]) -> None:
    for group, creator, offset, vr, value in kept:
        dataset.private_block(group, creator, create=True).add_new(offset, vr, value)
