"""``medstation export``: de-identified DICOM, NIfTI and PNG from a real CT; never over an output without --force,
never into the source."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pydicom
import pytest

from medstation.cli import main
from medstation.io.open_study import open_image

GE_TILT = Path(__file__).parents[1] / "data" / "dicom" / "ge_tilt"


def test_anonymized_dicom_export_prints_its_figures(tmp_path, capsys):
    assert main(["export", str(GE_TILT), str(tmp_path), "--format", "dicom", "--anonymize", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    folder = Path(document["outputs"][0])
    assert folder.name == "series-001-CT" and document["files"] == 3
    assert document["deidentification"]["private_removed"] > 0
    dataset = pydicom.dcmread(next(folder.glob("*.dcm")))
    assert dataset.PatientIdentityRemoved == "YES" and str(dataset.PatientID).startswith("ANON-")
    np.testing.assert_array_equal(open_image(folder).volume.array, open_image(GE_TILT).volume.array)


def test_nifti_and_png_exports(tmp_path, capsys):
    assert main(["export", str(GE_TILT), str(tmp_path / "n"), "--format", "nifti"]) == 0
    volume = open_image(tmp_path / "n" / "series-001-CT.nii.gz").volume
    np.testing.assert_array_equal(volume.array, open_image(GE_TILT).volume.array)
    assert main(["export", str(GE_TILT), str(tmp_path / "p"), "--format", "png", "--series", "2"]) == 0
    assert sorted(path.name for path in (tmp_path / "p" / "series-001-CT").iterdir()) == [
        "slice-0001.png", "slice-0002.png", "slice-0003.png"]


def test_existing_output_needs_force_and_the_source_is_never_written(tmp_path, capsys):
    assert main(["export", str(GE_TILT), str(tmp_path), "--format", "dicom"]) == 0
    capsys.readouterr()
    assert main(["export", str(GE_TILT), str(tmp_path), "--format", "dicom"]) == 1
    assert "already exists" in capsys.readouterr().err
    assert main(["export", str(GE_TILT), str(tmp_path), "--format", "dicom", "--force"]) == 0
    assert main(["export", str(GE_TILT), str(GE_TILT / "out"), "--format", "png"]) == 1
    assert "inside the input folder" in capsys.readouterr().err
    assert not (GE_TILT / "out").exists()
    assert main(["export", str(GE_TILT), str(tmp_path), "--format", "png", "--keep-dates"]) == 1
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".")] == []


def test_burned_in_annotation_is_refused_naming_the_file(tmp_path, capsys):
    source = tmp_path / "in"
    source.mkdir()
    for path in GE_TILT.glob("*.dcm"):
        dataset = pydicom.dcmread(path)
        dataset.BurnedInAnnotation = "YES"
        dataset.save_as(source / path.name)
    assert main(["export", str(source), str(tmp_path / "out"), "--format", "dicom", "--anonymize"]) == 1
    err = capsys.readouterr().err
    assert "BurnedInAnnotation is YES" in err and str(source) in err and "--allow-burned-in" in err
    assert not (tmp_path / "out" / "series-001-CT").exists()
    assert main(["export", str(source), str(tmp_path / "out"), "--format", "dicom", "--anonymize",
                 "--allow-burned-in"]) == 0


def test_sending_needs_a_dicom_export(pacs_home, tmp_path, capsys):
    assert main(["export", str(GE_TILT), str(tmp_path / "n"), "--format", "nifti", "--to", "archive"]) == 1
    assert capsys.readouterr().err == ("medstation export: error: --to sends DICOM to a PACS; export --format dicom "
                                       "to send to archive\n")
    assert main(["export", str(GE_TILT), str(tmp_path / "d"), "--format", "dicom", "--to", "nowhere"]) == 1
    assert "nowhere: no such PACS node" in capsys.readouterr().err and not (tmp_path / "d").exists()


@pytest.mark.private_network
def test_a_de_identified_export_is_sent_to_a_pacs_node(fresh_orthanc, pacs_home, tmp_path, capsys):
    assert main(["pacs", "nodes", "add", "orthanc", "--ae-title", "ORTHANC", "--host", "127.0.0.1", "--port", "4243",
                 "--timeout", "10"]) == 0
    capsys.readouterr()
    assert main(["export", str(GE_TILT), str(tmp_path / "out"), "--format", "dicom", "--anonymize", "--to", "orthanc",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["sent"]["sent"] == 3
    assert main(["pacs", "find", "orthanc", "--json"]) == 0
    studies = json.loads(capsys.readouterr().out)["matches"]
    original = pydicom.dcmread(next(GE_TILT.glob("*.dcm")), stop_before_pixels=True)
    assert [study["instances"] for study in studies] == [3]
    assert studies[0]["study_uid"] != original.StudyInstanceUID
