"""What the classifier runs at inference: the network with batch normalisation folded gives the trained network's
probabilities on real images, and a batch prepared in place holds exactly the values of one prepared by copies."""

from __future__ import annotations

import numpy as np
import pytest

from medstation.engine.bundles import IntensitySpec
from medstation.engine.calibration import apply_temperature
from medstation.engine.classifier import load_classifier
from medstation.engine.classifier.cohort import prepare_images
from medstation.engine.classifier.inputs import normalise_intensity, prepare_batch, volume_to_input
from medstation.engine.classifier.network import network_logits
from medstation.io.images import image_files_in
from medstation.io.open_study import open_image
from medstation.resources import resource_path


@pytest.fixture(scope="module")
def real_images(shared_path):
    """The sample study's 18 radiographs (DICOM) and 24 Kermany chest radiographs (JPEG)."""
    return image_files_in(resource_path("sample", "images")) + sorted(
        shared_path("cxr-kermany", "images").iterdir())[:24]


@pytest.mark.parametrize("model", ["pneumonia-cxr-resnet18", "pneumonia-cxr-fullres"])
def test_the_folded_network_gives_the_trained_networks_probabilities_on_real_images(model, real_images):
    classifier = load_classifier(model)
    kinds = {type(module).__name__ for module in classifier.inference_network.modules()}
    assert not any(kind.startswith("BatchNorm") for kind in kinds)
    assert any(kind.startswith("BatchNorm") for kind in (type(m).__name__ for m in classifier.network.modules()))
    _, batch, skipped = prepare_images(real_images, classifier.input_spec)
    assert skipped == [] and len(batch) == len(real_images)
    spatial_dims = classifier.input_spec.spatial_dims
    folded = apply_temperature(network_logits(classifier.inference_network, batch, spatial_dims, "cpu"),
                               classifier.temperature)
    trained = apply_temperature(network_logits(classifier.network, batch, spatial_dims, "cpu"),
                                classifier.temperature)
    assert np.abs(folded - trained).max() <= 1e-5


def test_images_prepared_into_one_batch_in_place_equal_those_prepared_one_by_one(real_images):
    classifier = load_classifier("pneumonia-cxr-resnet18")
    spec = classifier.input_spec
    keys, batch, _ = prepare_images(real_images, spec)
    inputs = [volume_to_input(open_image(path).volume, spec) for path in real_images]
    assert keys == [str(path) for path in real_images]
    assert np.array_equal(batch, prepare_batch(inputs, spec))
    for index, image in enumerate(inputs):
        assert np.array_equal(batch[index], prepare_batch([image], spec)[0])


@pytest.mark.parametrize("intensity", [IntensitySpec("range", {"a_min": 10.0, "a_max": 200.0}),
                                       IntensitySpec("minmax", {}),
                                       IntensitySpec("zscore", {"mean": 120.5, "std": 60.25})])
def test_normalising_in_place_gives_the_values_of_normalising_a_copy(intensity):
    rng = np.random.default_rng(0)
    batch = rng.uniform(0, 255, size=(5, 1, 9, 7)).astype(np.float32)
    batch[2] = 42.0  # a constant image
    original = batch.copy()
    copied = normalise_intensity(batch, intensity)
    assert np.array_equal(batch, original) and copied is not batch
    if intensity.method == "range":
        expected = np.clip((original - 10.0) / 190.0, 0.0, 1.0)
    elif intensity.method == "minmax":
        low = original.min(axis=(1, 2, 3), keepdims=True)
        span = original.max(axis=(1, 2, 3), keepdims=True) - low
        expected = (original - low) / np.where(span > 0, span, 1.0)
    else:
        expected = (original - 120.5) / 60.25
    assert copied.dtype == np.float32 and np.array_equal(copied, expected.astype(np.float32))
    in_place = normalise_intensity(batch, intensity, overwrite=True)
    assert in_place is batch and np.array_equal(in_place, copied)
