"""The conditional GAN: network shapes at 28x28 and 64x64, tiny training runs with checkpoints and resume, seeded
sampling, conditioning of the shipped model."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from generator_data import LABELS, two_class_images

from medstation.engine.classifier.data import LabelledImages, Split
from medstation.engine.generator.model import load_generator
from medstation.engine.generator.network import build_discriminator, build_generator, upsampling_steps
from medstation.engine.generator.training import (
    GeneratorRecipe,
    average_decay,
    fit_gan,
    prepare_training_images,
    save_checkpoint,
    train_generator,
)
from medstation.errors import Cancelled, ModelError
from medstation.resources import installed_models_dir

SPEC = {"architecture": "dcgan-projection", "latent_dim": 8, "width": 4}
TINY = GeneratorRecipe(epochs=1, batch_size=8, latent_dim=8, width=4, ema_decay=0.5)
SHIPPED = installed_models_dir() / "cxr-gan"


def _data(count: int = 32, size: int = 28) -> LabelledImages:
    images, classes = two_class_images(count, size)
    return LabelledImages(Path("two-class.npz"), LABELS, {"train": Split(images[:, np.newaxis], classes)})


@pytest.mark.parametrize(("size", "steps"), [(28, 2), (64, 4)])
def test_networks_map_latents_to_images_and_images_to_scores(size, steps):
    import torch

    assert upsampling_steps((size, size)) == steps
    generator, discriminator = build_generator(SPEC, (size, size), 2), build_discriminator(SPEC, (size, size), 2)
    classes = torch.tensor([0, 1, 1])
    images = generator(torch.randn(3, 8), classes)
    assert images.shape == (3, 1, size, size)
    assert images.min() >= -1.0 and images.max() <= 1.0
    assert discriminator(images, classes).shape == (3,)


@pytest.mark.parametrize("size", [(27, 27), (28, 32), (6, 6)])
def test_sizes_the_generator_cannot_make_are_refused(size):
    with pytest.raises(ModelError, match="generator"):
        upsampling_steps(size)


@pytest.mark.slow
def test_tiny_training_at_64x64_writes_a_bundle_that_samples_64x64(tmp_path):
    recipe = replace(TINY, spatial_size=(64, 64))
    bundle = train_generator(_data(16), tmp_path / "gan64", recipe, tmp_path / "gan64.pt", command="test")
    generator = load_generator(bundle.root)
    assert generator.image_size == (64, 64) and generator.labels == list(LABELS)
    batch = generator.sample(5, "pneumonia", seed=1)
    assert batch.images.shape == (5, 64, 64) and batch.images.dtype == np.float32
    assert batch.labels == ["pneumonia"] * 5 and batch.model == "gan64"
    assert batch.images.min() >= 0.0 and batch.images.max() <= 1.0
    assert bundle.metadata.document["training"]["command"] == "test"
    assert "synthetic" in bundle.model_card().lower() and "not for diagnosis" in bundle.model_card()


@pytest.mark.slow
def test_sampling_is_seeded_and_follows_the_requested_class(tmp_path):
    generator = load_generator(train_generator(_data(), tmp_path / "gan", TINY).root)
    first, again = generator.sample(6, seed=3), generator.sample(6, seed=3)
    np.testing.assert_array_equal(first.images, again.images)
    assert first.labels == again.labels and first.seed == 3
    assert not np.array_equal(first.images, generator.sample(6, seed=4).images)
    normal = generator.sample_classes(np.zeros(4, dtype=int), seed=5)
    pneumonia = generator.sample_classes(np.ones(4, dtype=int), seed=5)
    assert not np.allclose(normal, pneumonia), "the class must change the image for the same latent vectors"
    mixed = generator.sample(400, seed=0)
    assert 0.35 < mixed.labels.count("pneumonia") / 400 < 0.65, "the training mix of this data is half and half"
    with pytest.raises(ModelError, match="no class 'covid'"):
        generator.sample(2, "covid")
    with pytest.raises(ModelError, match="positive whole number"):
        generator.sample(0)


@pytest.mark.slow
def test_resumed_training_ends_with_the_weights_of_an_uninterrupted_run(tmp_path):
    import torch

    data = _data()
    images = prepare_training_images(data.splits["train"].images, data.splits["train"].labels, None, "test")
    straight = fit_gan(images, list(LABELS), replace(TINY, epochs=2))
    checkpoint = tmp_path / "run.pt"
    fit_gan(images, list(LABELS), TINY, checkpoint)
    resumed = fit_gan(images, list(LABELS), replace(TINY, epochs=2), checkpoint, resume=True)
    assert resumed.epoch == 2
    for key, value in straight.average.state_dict().items():
        torch.testing.assert_close(resumed.average.state_dict()[key], value)


def test_average_decay_warms_up_to_its_cap():
    assert average_decay(0.999, 0) == pytest.approx(0.1)
    assert average_decay(0.999, 90) == pytest.approx(0.91)
    assert average_decay(0.999, 10**6) == 0.999


@pytest.mark.slow
def test_checkpoint_of_another_recipe_is_refused_and_cancel_keeps_the_last_one(tmp_path):
    import threading

    data = _data()
    images = prepare_training_images(data.splits["train"].images, data.splits["train"].labels, None, "test")
    checkpoint = tmp_path / "run.pt"
    state = fit_gan(images, list(LABELS), TINY, checkpoint)
    saved = checkpoint.read_bytes()
    with pytest.raises(ModelError, match="another recipe"):
        fit_gan(images, list(LABELS), replace(TINY, width=8, epochs=2), checkpoint, resume=True)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        fit_gan(images, list(LABELS), replace(TINY, epochs=2), checkpoint, resume=True, cancel=cancel)
    assert checkpoint.read_bytes() == saved
    save_checkpoint(state, TINY, list(LABELS), checkpoint)
    assert not list(tmp_path.glob(".*tmp*")), "no temporary file is left beside the checkpoint"
    checkpoint.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match="not a readable training checkpoint"):
        fit_gan(images, list(LABELS), replace(TINY, epochs=2), checkpoint, resume=True)


def test_a_classifier_bundle_is_not_a_generator(untrained_classifier_bundle):
    with pytest.raises(ModelError, match="not a generator"):
        load_generator(untrained_classifier_bundle)


@pytest.mark.skipif(not SHIPPED.is_dir(), reason="needs the shipped cxr-gan bundle")
def test_shipped_generator_makes_the_class_it_is_asked_for():
    from medstation.engine.generator.confidence import conditional_confidence

    generator = load_generator("cxr-gan")
    assert generator.image_size == (28, 28)
    for label in generator.labels:
        batch = generator.sample(64, label, seed=0)
        confidence = conditional_confidence(batch.images, batch.labels)
        assert confidence.shape == (64,)
        assert np.median(confidence) > 0.7, f"{label}: the classifier should mostly recognise the requested class"
