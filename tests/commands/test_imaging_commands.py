"""``medstation info``, ``convert`` and ``import`` on real scanner data, damaged files included."""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pytest

from medstation.cli import main
from medstation.io.nifti import read_volume


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def damaged_ct(tmp_path, shared_path):
    """The GE head CT with one slice truncated and a stray text file beside it."""
    source = shared_path("dicom", "dcm_qa_ct", "In", "GE")
    folder = tmp_path / "ct"
    shutil.copytree(source, folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    victim = files[len(files) // 2]
    victim.write_bytes(victim.read_bytes()[:3000])
    (folder / "notes.txt").write_text("reported by phone")
    return folder, victim


def test_info_lists_the_nine_transfer_syntax_series(capsys, shared_path):
    path = shared_path("dicom", "dcm_qa_ts", "In")
    assert main(["info", str(path), "--json"]) == 0
    report = _json(capsys)
    assert len(report["series"]) == 9
    assert {tuple(s["shape"]) for s in report["series"]} == {tuple(report["series"][0]["shape"])}
    assert report["skipped"] == []


def test_info_on_a_damaged_folder_succeeds_and_names_each_skipped_file(damaged_ct, capsys):
    folder, victim = damaged_ct
    assert main(["info", str(folder), "--json"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    skipped = {entry["path"]: entry["reason"] for entry in report["skipped"]}
    assert set(skipped) == {str(victim), str(folder / "notes.txt")}
    assert all(reason for reason in skipped.values())
    assert str(victim) in captured.err and "notes.txt" in captured.err
    assert len(report["series"]) == 1
    assert any("tilt" in warning for warning in report["series"][0]["warnings"])


def test_convert_of_a_damaged_folder_equals_the_folder_without_the_bad_files(damaged_ct, tmp_path, capsys):
    folder, victim = damaged_ct
    clean = tmp_path / "clean"
    shutil.copytree(folder, clean)
    (clean / victim.relative_to(folder)).unlink()
    (clean / "notes.txt").unlink()
    assert main(["convert", str(folder), str(tmp_path / "damaged.nii.gz")]) == 0
    assert main(["convert", str(clean), str(tmp_path / "clean.nii.gz")]) == 0
    damaged, reference = read_volume(tmp_path / "damaged.nii.gz"), read_volume(tmp_path / "clean.nii.gz")
    assert damaged.array.shape == reference.array.shape
    np.testing.assert_array_equal(damaged.array, reference.array)
    np.testing.assert_allclose(damaged.affine, reference.affine, atol=1e-6)


def test_convert_picks_a_series_by_number_and_refuses_unknown_ones(tmp_path, capsys, shared_path):
    path = shared_path("dicom", "dcm_qa_ts", "In")
    assert main(["info", str(path), "--json"]) == 0
    numbers = [s["series_number"] for s in _json(capsys)["series"]]
    out = tmp_path / "s.nii"
    assert main(["convert", str(path), str(out), "--series", str(numbers[1])]) == 0
    assert read_volume(out).array.shape[-2:] == (64, 64)
    assert main(["convert", str(path), str(tmp_path / "x.nii"), "--series", "999"]) == 1
    err = capsys.readouterr().err
    assert "no series '999'" in err and str(path) in err
    assert not (tmp_path / "x.nii").exists()


def _digest(folder) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def test_import_indexes_by_reference_and_rescans_incrementally(damaged_ct, capsys):
    folder, _ = damaged_ct
    before = _digest(folder)
    assert main(["import", str(folder), "--json"]) == 0
    first = _json(capsys)
    total = sum(1 for p in folder.rglob("*") if p.is_file())
    assert first["read"] == total and first["unreadable"] == 2
    assert main(["import", str(folder), "--json"]) == 0
    second = _json(capsys)
    assert (second["read"], second["unchanged"], second["removed"]) == (0, total, 0)
    assert _digest(folder) == before, "importing changed the source folder"
    (folder / "notes.txt").unlink()
    assert main(["import", str(folder), "--json"]) == 0
    third = _json(capsys)
    assert (third["read"], third["removed"]) == (0, 1)


def _digests(folder) -> dict:
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_convert_and_render_never_write_over_or_into_their_input(tmp_path, capsys, shared_path):
    volume = tmp_path / "mr.nii.gz"
    shutil.copy(shared_path("nifti", "MR_Gd.nii.gz"), volume)
    folder = tmp_path / "ct"
    shutil.copytree(shared_path("dicom", "dcm_qa_ct", "In", "GE"), folder)
    before = _digests(tmp_path)
    commands = (
        ["convert", str(volume), str(volume)],
        ["render", str(volume), str(volume)],
        ["convert", str(folder), str(folder / "ct.nii.gz")],
        ["render", str(folder), str(folder / "ct.png")],
    )
    for command in commands:
        assert main(command) == 1
        assert command[2] in capsys.readouterr().err
    assert _digests(tmp_path) == before


def test_convert_names_a_missing_output_folder_and_an_empty_input_folder(tmp_path, capsys, shared_path):
    out = tmp_path / "missing" / "mr.nii"
    assert main(["convert", str(shared_path("nifti", "MR_Gd.nii.gz")), str(out)]) == 1
    assert f"{out}: the folder {out.parent} does not exist" in capsys.readouterr().err
    assert not out.parent.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["convert", str(empty), str(tmp_path / "e.nii")]) == 1
    assert f"{empty}: no DICOM image series found" in capsys.readouterr().err


def test_info_convert_and_render_open_a_picture_as_classify_does(tmp_path, capsys, qapp):
    from PIL import Image

    picture = tmp_path / "hand.png"
    Image.fromarray((np.arange(40 * 30).reshape(40, 30) % 200).astype(np.uint8)).save(picture)
    assert main(["info", str(picture), "--json"]) == 0
    (description,) = _json(capsys)["series"]
    assert description["shape"] == [1, 40, 30] and description["spacing_known"] is False
    assert main(["info", str(picture)]) == 0
    assert "spacing unknown (distances in pixels)" in capsys.readouterr().out
    assert main(["convert", str(picture), str(tmp_path / "hand.nii")]) == 0
    np.testing.assert_array_equal(read_volume(tmp_path / "hand.nii").array[0], np.asarray(Image.open(picture)))
    assert main(["render", str(picture), str(tmp_path / "hand-view.png")]) == 0
    assert Image.open(tmp_path / "hand-view.png").size == (768, 768)


def test_convert_names_each_unreadable_file_before_saying_no_series_was_found(tmp_path, capsys):
    folder = tmp_path / "notes"
    folder.mkdir()
    for name in ("a.dcm", "b.dcm", "c.dcm", "d.dcm"):
        (folder / name).write_text("reported by phone")
    assert main(["convert", str(folder), str(tmp_path / "out.nii")]) == 1
    err = capsys.readouterr().err
    assert {line.split(":")[0] for line in err.splitlines() if line.startswith("skipped ")} == {
        f"skipped {folder / name}" for name in ("a.dcm", "b.dcm", "c.dcm", "d.dcm")
    }
    assert f"medstation convert: error: {folder}: no DICOM image series found" in err
    assert not (tmp_path / "out.nii").exists()
