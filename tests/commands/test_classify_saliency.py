"""``medstation classify --saliency METHOD --out DIR`` writes each image's map beside its prediction."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from medstation.cli import main
from medstation.io.open_study import open_image
from medstation.resources import resource_path

SAMPLE = resource_path("sample")


def test_saliency_maps_are_written_for_every_classified_image(tmp_path, qapp, capsys, untrained_classifier_bundle):
    out = tmp_path / "maps"
    argv = ["classify", str(SAMPLE), "--model", untrained_classifier_bundle, "--saliency", "gradcam"]
    assert main([*argv, "--out", str(out), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert len(document["results"]) == 18
    for result in document["results"]:
        saliency = result["saliency"]
        values = np.load(saliency["map"])
        image_shape = open_image(result["path"]).volume.array.shape[1:]
        assert values.shape == image_shape, "the map lies on the image's own grid (28 px or a full radiograph)"
        assert values.min() >= 0 and values.max() <= 1
        assert Path(saliency["png"]).stat().st_size > 1000
        assert saliency["label"] == result["prediction"]


def test_saliency_without_an_output_folder_is_refused(capsys, untrained_classifier_bundle):
    assert main(["classify", str(SAMPLE), "--model", untrained_classifier_bundle, "--saliency", "gradcam"]) == 1
    assert "--out" in capsys.readouterr().err


def test_saliency_out_that_is_a_file_is_refused_naming_it(tmp_path, capsys, untrained_classifier_bundle):
    taken = tmp_path / "taken.png"
    taken.write_bytes(b"not a folder")
    argv = ["classify", str(SAMPLE / "images" / "sample-01.dcm"), "--model", untrained_classifier_bundle]
    assert main([*argv, "--saliency", "gradcam", "--out", str(taken)]) == 1
    error = capsys.readouterr().err
    assert f"{taken}: --out must be a folder" in error and "Traceback" not in error
    assert taken.read_bytes() == b"not a folder"


def test_saliency_maps_are_not_written_into_the_input_folder(tmp_path, capsys, untrained_classifier_bundle):
    folder = tmp_path / "images"
    folder.mkdir()
    (folder / "sample-01.dcm").write_bytes((SAMPLE / "images" / "sample-01.dcm").read_bytes())
    argv = ["classify", str(folder), "--model", untrained_classifier_bundle, "--saliency", "gradcam"]
    assert main([*argv, "--out", str(folder / "maps")]) == 1
    assert "inside the input folder" in capsys.readouterr().err
    assert [p.name for p in folder.iterdir()] == ["sample-01.dcm"]
