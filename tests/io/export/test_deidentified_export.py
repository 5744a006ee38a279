"""Every series of ../shared/data/dicom exported de-identified: no original identifier is left in any exported file,
and every series loads again with the same voxels and geometry.

Identifiers gathered from the originals (every level, public attributes): person names, IDs (patient, other
patient, accession, study, procedure), every UID that is not a registered DICOM UID, every date (DA, and the date
of a DT), institution name, address and department, station name, device serial number, and the free-text
descriptors (study, series, protocol, procedure and image comments). Each exported file's bytes outside its Pixel
Data value are searched for each identifier of four or more characters (shorter values, such as StudyID "1",
occur by chance in any file); a purely numeric one must stand alone (not inside a longer number), and a part of a
person name must be a whole word (a phantom named HEAD is not found in "SIEMENS CSA HEADER" or the SAR mode
"IEC_HEAD"). A value that is also a coded string (CS) of the originals is not searched: the phantom named HEAD
shares its name with the BodyPartExamined term HEAD, which the profile keeps. Pixel Data is compared with the
original voxel for voxel instead: it is copied unchanged, and text in it would be burned-in annotation, which the
export refuses.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import UID_dictionary

from medstation.io.dicom.series import load_series, scan_dicom
from medstation.io.export.series_export import export_series
from medstation.io.open_study import open_image

SUITES = Path(__file__).parents[4] / "shared" / "data" / "dicom"
TEXT_KEYWORDS = frozenset({
    "PatientID", "OtherPatientIDs", "IssuerOfPatientID", "AccessionNumber", "StudyID", "RequestedProcedureID",
    "PerformedProcedureStepID", "ScheduledProcedureStepID", "InstitutionName", "InstitutionAddress",
    "InstitutionalDepartmentName", "StationName", "DeviceSerialNumber", "StudyDescription", "SeriesDescription",
    "ProtocolName", "ImageComments", "PerformedProcedureStepDescription", "RequestedProcedureDescription",
    "PatientComments", "AdditionalPatientHistory", "PerformedLocation", "PerformedStationName", "PatientAddress",
})
MIN_LENGTH = 4
_CODED = "coded strings"

pytestmark = pytest.mark.slow


def _identifiers(dataset, found: dict[str, str]) -> None:
    for element in dataset:
        if element.tag.is_private:
            continue
        if element.VR == "SQ":
            for item in element.value:
                _identifiers(item, found)
            continue
        values = element.value if element.VM > 1 else [element.value]
        for value in values:
            text = "" if value is None else str(value).strip()
            if not text:
                continue
            if element.VR == "CS":
                found.setdefault(_CODED, set()).add(text)
            elif element.VR == "UI" and text not in UID_dictionary:
                found[text] = element.keyword
            elif element.VR in ("DA", "DT") and len(text) >= 8:
                found[text[:8]] = element.keyword
            elif element.VR == "PN" or element.keyword in TEXT_KEYWORDS:
                found[text] = element.keyword
                if element.VR == "PN":
                    found.update((part, f"{element.keyword} (word)") for part in re.split(r"[\^=]", text) if part)


def _header_text(path: Path) -> str:
    """The file's bytes without its Pixel Data value, as latin-1 text."""
    data = path.read_bytes()
    pixels = pydicom.dcmread(path).get("PixelData")
    if pixels:
        data = data.replace(bytes(pixels), b"", 1)
    return data.decode("latin-1")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    if not SUITES.is_dir():
        pytest.skip(f"{SUITES} is absent (docs/data.md says how to get the dcm_qa suites)")
    out = tmp_path_factory.mktemp("deidentified")
    summary = export_series(SUITES, out, "dicom", anonymize=True, seed=20)
    return summary, out


def test_no_original_identifier_is_left_in_any_exported_file(exported):
    summary, out = exported
    found: dict[str, str] = {}
    originals = list(dict.fromkeys(frame.path for series in scan_dicom(SUITES).series for frame in series.frames))
    for path in originals:
        _identifiers(pydicom.dcmread(path, stop_before_pixels=True), found)
    coded = found.pop(_CODED, set())
    searched = {text: keyword for text, keyword in found.items() if len(text) >= MIN_LENGTH and text not in coded}
    numeric = [re.compile(rf"(?<![0-9]){text}(?![0-9])") for text in searched if text.isdigit()]
    words = [re.compile(rf"(?<![A-Za-z0-9_]){re.escape(text)}(?![A-Za-z0-9_])") for text, keyword in searched.items()
             if keyword.endswith("(word)") and not text.isdigit()]
    plain = [text for text, keyword in searched.items() if not text.isdigit() and not keyword.endswith("(word)")]
    files = sorted(out.rglob("*.dcm"))
    assert len(files) == summary.files == sum(series.n_files for series in scan_dicom(SUITES).series)
    assert len(originals) < len(files)  # one multi-frame file holds two series: it is in both folders
    leaks = []
    for path in files:
        text = _header_text(path)
        leaks += [(path.name, found_text, searched[found_text]) for found_text in plain if found_text in text]
        leaks += [(path.name, pattern.pattern, "numeric or name part") for pattern in (*numeric, *words)
                  if pattern.search(text)]
    assert len(searched) > 900
    assert leaks == []
    tally = summary.deidentification.as_dict()
    assert tally["files"] == len(files) and tally["private_removed"] > 0 and tally["dates_shifted"] > 0


def test_exported_series_load_with_the_same_voxels_and_geometry(exported):
    summary, _ = exported
    originals = scan_dicom(SUITES).series
    assert len(summary.outputs) == len(originals)
    for series, folder in zip(originals, summary.outputs, strict=True):
        original = load_series(series)
        parts = scan_dicom(folder).series
        if len(parts) == 1:
            copy = open_image(folder).volume
        else:  # the series is one part of a file split by geometry or image type: compare that part
            copy = load_series(next(part for part in parts if part.split_label == series.split_label))
        assert copy.array.dtype == original.array.dtype, folder.name
        np.testing.assert_array_equal(copy.array, original.array, err_msg=folder.name)
        np.testing.assert_allclose(copy.affine, original.affine, atol=1e-6, err_msg=folder.name)
        assert copy.info.patient_id.startswith("ANON-") and copy.info.study_uid != original.info.study_uid
