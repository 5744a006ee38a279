"""A folder's labels CSV: its path and label columns as named, or the usual ones."""

import numpy as np
import pytest
from PIL import Image

from medstation.engine.classifier.data import load_labelled_images
from medstation.errors import UnreadableInput


@pytest.fixture
def folder(tmp_path):
    rows = ["file,label,finding,split"]
    for index, (finding, split) in enumerate([("normal", "train"), ("bacteria", "train"), ("virus", "train"),
                                              ("normal", "val"), ("virus", "val"), ("bacteria", "test")]):
        Image.fromarray(np.full((8, 10), 40 * index, dtype=np.uint8)).save(tmp_path / f"{index}.png")
        label = "normal" if finding == "normal" else "pneumonia"
        rows.append(f"{index}.png,{label},{finding},{split}")
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    return tmp_path


def test_the_file_column_is_the_path_and_the_named_column_the_label(folder):
    data = load_labelled_images(folder, label_column="finding")
    assert data.label_names == ("bacteria", "normal", "virus")
    assert data.columns == {"path": "file", "label": "finding"}
    assert data.split("train").labels.tolist() == [1, 0, 2]
    assert data.split("train").images[2, 0, 0, 0] == 80
    assert "finding" not in data.split("train").groups and "label" in data.split("train").groups
    binary = load_labelled_images(folder)
    assert binary.label_names == ("normal", "pneumonia") and binary.columns["label"] == "label"


def test_one_size_resizes_every_side(folder):
    assert load_labelled_images(folder, size=(16,)).spatial_size == (16, 16)


def test_a_missing_column_is_named_with_those_found(folder):
    found = r"'diagnosis' columns and at least one row \(found file, finding, label, split\)"
    with pytest.raises(UnreadableInput, match=found):
        load_labelled_images(folder, label_column="diagnosis")
