"""Classifier engine: networks, what a bundle accepts and refuses, batched prediction, data loading."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from bundle_factory import untrained_bundle

from medstation.core.volume import Volume, VolumeInfo
from medstation.engine.classifier.data import load_labelled_images
from medstation.engine.classifier.model import classifier_from_bundle
from medstation.engine.classifier.network import build_network, check_network_input, default_network_spec
from medstation.engine.classifier.training import TrainingRecipe, train_classifier
from medstation.errors import Cancelled, ModelError
from medstation.io.open_study import open_image
from medstation.resources import resource_path

SAMPLE = resource_path("sample", "images")


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    return classifier_from_bundle(untrained_bundle(tmp_path_factory.mktemp("bundle") / "untrained"), "cpu")


@pytest.mark.parametrize("dims, size", [(2, 28), (3, 16)])
def test_resnet18_with_small_stem_keeps_full_resolution_in_2d_and_3d(dims, size):
    network = build_network(default_network_spec("resnet18", (4, 8, 8, 8)), dims, 1, 3).eval()
    with torch.inference_mode():
        logits = network(torch.zeros(2, 1, *[size] * dims))
    assert logits.shape == (2, 3)
    assert network.conv1.kernel_size == (3,) * dims and network.conv1.stride == (1,) * dims


def test_densenet121_builds_and_refuses_inputs_smaller_than_its_downsampling():
    spec = default_network_spec("densenet121")
    network = build_network(spec, 2, 1, 2).eval()
    with torch.inference_mode():
        assert network(torch.zeros(1, 1, 32, 32)).shape == (1, 2)
    with pytest.raises(ModelError, match="at least 32"):
        check_network_input(spec, (28, 28))


def test_predict_on_a_dicom_radiograph_matches_the_same_pixels_as_an_array(classifier):
    volume = open_image(SAMPLE / "sample-04.dcm").volume
    from_volume = classifier.predict(volume)
    from_array = classifier.predict(np.asarray(volume.array[0], dtype=np.float32))
    assert set(from_volume.probabilities) == {"normal", "pneumonia"}
    assert sum(from_volume.probabilities.values()) == pytest.approx(1.0)
    assert from_volume.probabilities == pytest.approx(from_array.probabilities, abs=1e-6)


def test_batch_prediction_equals_one_at_a_time(classifier):
    images = [open_image(path).volume for path in sorted(SAMPLE.glob("*.dcm"))]
    batch = classifier.predict_batch(images)
    singles = [classifier.predict(image) for image in images]
    assert [p.label for p in batch] == [p.label for p in singles]
    for together, alone in zip(batch, singles, strict=True):
        assert together.probabilities["pneumonia"] == pytest.approx(alone.probabilities["pneumonia"], abs=1e-5)


def test_larger_images_are_resized_as_the_bundle_says(classifier):
    image = np.random.default_rng(0).random((112, 112)).astype(np.float32)
    assert sum(classifier.predict(image).probabilities.values()) == pytest.approx(1.0)


def test_wrong_number_of_channels_is_refused_saying_why(classifier):
    with pytest.raises(ModelError, match="3 channels; this model takes 2-D images \\(1 channel"):
        classifier.predict(np.zeros((3, 28, 28), dtype=np.float32))
    colour = Volume(np.zeros((1, 28, 28, 3), dtype=np.uint8), np.eye(4), is_rgb=True)
    with pytest.raises(ModelError, match="3 channels"):
        classifier.predict(colour)


def test_wrong_dimensions_are_refused_saying_why(classifier):
    ct = Volume(np.zeros((5, 28, 28), dtype=np.int16), np.eye(4), VolumeInfo(modality=""))
    with pytest.raises(ModelError, match="3-D volume of 5 slices"):
        classifier.predict(ct)
    with pytest.raises(ModelError, match="not \\(channels, 2 spatial axes\\)"):
        classifier.predict(np.zeros((2, 1, 28, 28), dtype=np.float32))
    series = Volume(np.zeros((3, 1, 28, 28), dtype=np.int16), np.eye(4))
    with pytest.raises(ModelError, match="series of 3 volumes"):
        classifier.predict(series)


def test_wrong_modality_is_refused_saying_why(classifier):
    ct_slice = Volume(np.zeros((1, 28, 28), dtype=np.int16), np.eye(4), VolumeInfo(modality="CT"))
    with pytest.raises(ModelError, match="modality CT is not one this model was made for \\(DX, CR\\)"):
        classifier.predict(ct_slice)


def test_monochrome1_is_shown_to_the_network_as_monochrome2(classifier):
    volume = open_image(SAMPLE / "sample-05.dcm").volume
    pixels = np.asarray(volume.array, dtype=np.float32)
    inverted = Volume(pixels.max() + pixels.min() - pixels, np.eye(4), VolumeInfo(photometric="MONOCHROME1"))
    assert classifier.predict(inverted).probabilities == pytest.approx(classifier.predict(volume).probabilities)


def test_folder_of_pictures_with_a_labels_csv_is_split_per_label(tmp_path):
    from PIL import Image

    rows = ["path,label,site"]
    for index in range(20):
        label = "a" if index % 2 else "b"
        Image.fromarray(np.full((12, 12), index * 10, dtype=np.uint8)).save(tmp_path / f"{index}.png")
        rows.append(f"{index}.png,{label},{'x' if index < 10 else 'y'}")
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    data = load_labelled_images(tmp_path, seed=3)
    assert data.label_names == ("a", "b")
    assert {name: len(split) for name, split in data.splits.items()} == {"train": 14, "val": 2, "test": 4}
    assert data.split("train").images.shape[1:] == (1, 12, 12)
    assert set(data.split("test").groups) == {"site"}


@pytest.mark.slow
def test_training_stops_between_batches_when_cancelled(tmp_path, shared_path):
    data = load_labelled_images(shared_path("medmnist", "pneumoniamnist.npz"))
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        train_classifier(data, tmp_path / "never", TrainingRecipe(widths=(4, 8, 8, 8), steps=5), cancel=cancel)
    assert not (tmp_path / "never").exists()
