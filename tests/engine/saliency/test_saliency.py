"""Saliency maps on a small ResNet trained for a few seconds on real PneumoniaMNIST images."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from medstation.engine.bundles.store import write_bundle
from medstation.engine.classifier.model import classifier_from_bundle
from medstation.engine.classifier.network import build_network
from medstation.engine.saliency.bundle import explain_with_bundle
from medstation.engine.saliency.checks import (
    average_ranks,
    faithfulness,
    randomisation_check,
    randomised_copy,
    rank_correlation,
)
from medstation.engine.saliency.methods import METHODS, explain
from medstation.engine.saliency.superpixels import slic_segments
from medstation.errors import Cancelled, GeometryError, ModelError

SLOW_METHODS = ("occlusion", "lime", "kernel_shap")
# Mean Spearman correlation, over the sanity images, between the trained and the randomised model's maps.
# Maps independent of the weights correlate 0 on average; the methods Adebayo et al. found failing (guided
# backpropagation, guided Grad-CAM) keep nearly the same map, with rank correlations that stay high as the
# layers are randomised. Grad-CAM's map has only 4 x 4 cells at
# 28 x 28, so one image's correlation with an unrelated map spreads with SD about 1 / sqrt(15) = 0.26 and
# the mean over six images about 0.1: 0.5 is five such SDs above chance and far below a failing method.
SANITY_THRESHOLD = 0.5
SANITY_IMAGES = 6
DELETION_IMAGES = 48


@pytest.fixture(scope="module")
def pneumonia(shared_path):
    """Test-split images in [0, 1], their labels, and a MONAI ResNet (basic blocks, 3x3 stem, no max-pool)
    trained for eight epochs on the first 480 training images, one thread, a few seconds."""
    torch = pytest.importorskip("torch")
    from monai.networks.nets import ResNet

    data = np.load(shared_path("medmnist", "pneumoniamnist.npz"))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        images = torch.from_numpy(data["train_images"][:480]).float()[:, None] / 255
        labels = torch.from_numpy(data["train_labels"][:480, 0]).long()
        model = ResNet(
            "basic", [1, 1, 1, 1], [8, 16, 32, 64], spatial_dims=2, n_input_channels=1, num_classes=2,
            conv1_t_size=3, conv1_t_stride=1, no_max_pool=True,
        )
        epochs, batch = 8, 32
        optimiser = torch.optim.Adam(model.parameters(), 5e-3)
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, 5e-3, total_steps=epochs * len(images) // batch)
        for _ in range(epochs):
            order = torch.randperm(len(images))
            for start in range(0, len(images), batch):
                chosen = order[start : start + batch]
                loss = torch.nn.functional.cross_entropy(model(images[chosen]), labels[chosen], label_smoothing=0.1)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                schedule.step()
        model.eval()
        yield model, data["test_images"].astype(np.float32) / 255, data["test_labels"][:, 0]
    finally:
        torch.set_num_threads(threads)


@pytest.mark.slow
def test_the_test_model_has_learned(pneumonia):
    torch = pytest.importorskip("torch")
    model, images, labels = pneumonia
    with torch.no_grad():
        predicted = model(torch.from_numpy(images[:200, None])).argmax(dim=1).numpy()
    assert (predicted == labels[:200]).mean() > 0.7


@pytest.mark.slow
@pytest.mark.parametrize("method", METHODS)
def test_map_is_on_the_input_grid_for_a_non_square_image(pneumonia, method):
    model, images, _ = pneumonia
    image = np.kron(images[0], np.ones((2, 2), np.float32))[4:50, 1:39]
    saliency = explain(model, image, method, input_size=(28, 28))
    assert saliency.values.shape == image.shape == (46, 38)
    assert saliency.values.dtype == np.float32
    assert saliency.values.min() >= 0.0 and saliency.values.max() == pytest.approx(1.0)
    assert saliency.method == method and saliency.target in (0, 1) and 0.0 <= saliency.probability <= 1.0


@pytest.mark.slow
@pytest.mark.parametrize("method", ["gradcam", "occlusion"])
def test_a_network_run_at_the_image_size_gives_a_map_of_that_size(pneumonia, method):
    model, images, _ = pneumonia
    image = images[1][::-1, 3:25]
    assert explain(model, image, method).values.shape == (28, 22)


@pytest.mark.slow
def test_map_of_an_enlarged_image_lines_up_with_the_map_at_network_size(pneumonia):
    model, images, _ = pneumonia
    direct = explain(model, images[2], "occlusion", target=1).values
    enlarged = explain(model, np.kron(images[2], np.ones((3, 3), np.float32)), "occlusion", 1, (28, 28)).values
    assert enlarged.shape == (84, 84)
    assert rank_correlation(direct, enlarged.reshape(28, 3, 28, 3).mean(axis=(1, 3))) > 0.9


@pytest.mark.slow
def test_grad_cam_target_layer_is_the_last_stage_and_can_be_chosen(pneumonia):
    model, images, _ = pneumonia
    assert explain(model, images[0], "gradcam").layer == "layer4"
    assert explain(model, images[0], "gradcam", layer="layer3").layer == "layer3"
    with pytest.raises(ModelError, match="no layer named"):
        explain(model, images[0], "gradcam", layer="nowhere")


@pytest.mark.parametrize("method", ["gradcam", "gradcampp"])
def test_grad_cam_finds_densenets_last_feature_map(method):
    torch = pytest.importorskip("torch")
    from monai.networks.nets import DenseNet121

    torch.manual_seed(0)
    network = DenseNet121(spatial_dims=2, in_channels=1, out_channels=2, init_features=8, growth_rate=4).eval()
    image = np.random.default_rng(0).random((40, 52), dtype=np.float32)
    saliency = explain(network, image, method, target=1)
    assert saliency.layer == "class_layers.relu"
    assert saliency.values.shape == (40, 52) and saliency.values.min() >= 0.0 and saliency.values.max() <= 1.0


@pytest.mark.slow
def test_explaining_leaves_the_model_as_it_was(pneumonia):
    model, images, _ = pneumonia
    model.train()
    try:
        for method in ("gradcam", "gradcampp", "integrated_gradients"):
            explain(model, images[0], method)
        assert model.training
        assert all(parameter.requires_grad and parameter.grad is None for parameter in model.parameters())
        assert not any(module._forward_hooks or module._backward_hooks for module in model.modules())
    finally:
        model.eval()


@pytest.mark.slow
def test_grad_cam_leaves_inference_in_other_threads_alone(pneumonia):
    torch = pytest.importorskip("torch")
    model, images, _ = pneumonia
    errors, stop = [], threading.Event()
    batch = torch.from_numpy(images[:8, None])

    def infer():
        while not stop.is_set():
            try:
                with torch.inference_mode():
                    model(batch)
            except RuntimeError as error:
                errors.append(error)
                return

    worker = threading.Thread(target=infer)
    worker.start()
    try:
        maps = [explain(model, images[0], "gradcam") for _ in range(20)]
    finally:
        stop.set()
        worker.join()
    assert not errors
    assert all(np.array_equal(maps[0].values, other.values) for other in maps)
    assert len({other.probability for other in maps}) == 1


@pytest.mark.slow
def test_bad_requests_are_refused_with_a_reason(pneumonia):
    model, images, _ = pneumonia
    with pytest.raises(ModelError, match="unknown saliency method"):
        explain(model, images[0], "smoothgrad")
    with pytest.raises(ModelError, match="out of range"):
        explain(model, images[0], "occlusion", target=5)
    with pytest.raises(ModelError, match="out of range"):
        explain(model, images[0], "gradcam", target=5)
    with pytest.raises(GeometryError, match="2D image"):
        explain(model, images[:2, None], "gradcam")


@pytest.mark.slow
def test_grad_cam_deletes_the_class_faster_than_random_maps(pneumonia):
    model, images, _ = pneumonia
    scores = [faithfulness(model, image, explain(model, image, "gradcam")) for image in images[:DELETION_IMAGES]]
    gains = np.array([score.random_auc - score.deletion_auc for score in scores])
    assert gains.mean() > 2 * gains.std() / np.sqrt(len(gains))
    assert np.mean(gains > 0) > 0.5
    assert np.mean([score.relative for score in scores]) > 0
    first = scores[0]
    assert first.fractions[0] == 0 and first.fractions[-1] == 1 and len(first.probabilities) == len(first.fractions)
    assert first.random_auc_std >= 0


@pytest.mark.slow
def test_integrated_gradients_beats_random_maps_clearly(pneumonia):
    model, images, _ = pneumonia
    scores = [faithfulness(model, image, explain(model, image, "integrated_gradients")) for image in images[:6]]
    assert np.mean([score.relative for score in scores]) > 0.2


@pytest.mark.slow
@pytest.mark.parametrize("method", METHODS)
def test_maps_change_when_the_weights_are_randomised(pneumonia, method):
    model, images, _ = pneumonia
    checks = [randomisation_check(model, image, method) for image in images[:SANITY_IMAGES]]
    assert all(check.trained.values.std() > 0 for check in checks), "a constant map would pass trivially"
    correlations = [check.correlation for check in checks]
    assert np.mean(correlations) < SANITY_THRESHOLD, correlations


@pytest.mark.slow
def test_the_sanity_check_sees_an_unchanged_model_as_unchanged(pneumonia):
    import copy

    model, images, _ = pneumonia
    first = explain(model, images[3], "gradcampp")
    again = explain(copy.deepcopy(model), images[3], "gradcampp", target=first.target)
    assert rank_correlation(first.values, again.values) == pytest.approx(1.0)


@pytest.mark.slow
def test_randomised_copy_replaces_every_weight_and_keeps_the_original(pneumonia):
    torch = pytest.importorskip("torch")
    model, _, _ = pneumonia
    before = {name: value.clone() for name, value in model.state_dict().items()}
    randomised = randomised_copy(model, seed=1)
    for name, value in model.state_dict().items():
        assert torch.equal(value, before[name])
    trained_weights = dict(model.named_parameters())
    for name, value in randomised.named_parameters():
        if value.ndim > 1:
            assert not torch.equal(value, trained_weights[name]), name


@pytest.mark.slow
@pytest.mark.parametrize("method", SLOW_METHODS)
def test_cancel_stops_the_slow_methods_between_batches(pneumonia, method):
    model, images, _ = pneumonia
    batches = []
    handle = model.register_forward_hook(lambda *_: batches.append(1))
    try:
        explain(model, images[0], method)
        full_run = len(batches)
        batches.clear()
        cancel = threading.Event()
        at_cancel = []

        def progress(fraction, _message):
            if fraction > 0 and not cancel.is_set():
                cancel.set()
                at_cancel.append(len(batches))

        with pytest.raises(Cancelled):
            explain(model, images[0], method, progress=progress, cancel=cancel)
    finally:
        handle.remove()
    assert full_run > 3
    assert at_cancel and len(batches) == at_cancel[0] <= 2


def write_small_bundle(root):
    """A 28x28 pneumonia bundle with freshly initialised weights, min-max intensities and a fitted-looking threshold."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    network = {"architecture": "resnet18", "widths": [4, 8, 8, 8], "stem": "3x3"}
    metadata = {
        "version": "1.0.0",
        "task": "classification",
        "labels": ["normal", "pneumonia"],
        "input": {"spatial_dims": 2, "spatial_size": [28, 28], "channels": 1, "intensity": {"method": "minmax"}},
        "network": network,
        "training_data": {"name": "none"},
        "metrics": {},
        "calibration": {"temperature": 2.0},
        "decision": {"positive_label": "pneumonia", "threshold": 0.3},
    }
    return write_bundle(root, metadata, build_network(network, 2, 1, 2).state_dict(), "# untrained, for tests\n")


@pytest.mark.slow
def test_bundle_map_is_on_the_image_grid_with_the_bundle_prediction(pneumonia, tmp_path):
    _, images, _ = pneumonia
    bundle = write_small_bundle(tmp_path / "small")
    classifier = classifier_from_bundle(bundle, "cpu")
    image = 255 * np.kron(images[4], np.ones((2, 2), np.float32))[4:50, 1:39]
    result = explain_with_bundle(classifier, image, "gradcampp", with_faithfulness=True)
    prediction = classifier.predict(image)
    assert result.saliency.values.shape == image.shape
    assert result.saliency.values.min() >= 0.0 and result.saliency.values.max() <= 1.0
    assert result.label == prediction.label
    assert result.saliency.probability == pytest.approx(prediction.probabilities[result.label], abs=1e-5)
    assert result.faithfulness is not None and 0.0 <= result.faithfulness.deletion_auc <= 1.0
    by_path = explain_with_bundle(str(bundle.root), image, "occlusion", target="normal")
    assert by_path.label == "normal" and by_path.saliency.target == 0 and by_path.faithfulness is None
    with pytest.raises(ModelError, match="no label 'cat'"):
        explain_with_bundle(classifier, image, "gradcam", target="cat")


def test_rank_correlation_matches_scipy_with_ties():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(3)
    a = rng.integers(0, 5, size=(9, 7)).astype(float)
    b = a + rng.normal(0, 2, size=a.shape)
    assert rank_correlation(a, b) == pytest.approx(stats.spearmanr(a.ravel(), b.ravel()).statistic)
    assert average_ranks(np.array([3.0, 1.0, 3.0, 2.0])).tolist() == [3.5, 1.0, 3.5, 2.0]
    assert rank_correlation(np.zeros((3, 3)), b[:3, :3]) == 0.0


def test_superpixels_cover_the_image_with_consecutive_labels():
    rng = np.random.default_rng(0)
    image = np.zeros((30, 40))
    image[:, 20:] = 1.0
    image += rng.normal(0, 0.02, image.shape)
    labels = slic_segments(image, n_segments=20)
    assert labels.shape == image.shape
    assert set(np.unique(labels)) == set(range(labels.max() + 1))
    assert 10 <= labels.max() + 1 <= 30
    for label in range(labels.max() + 1):
        assert len(np.unique(image[labels == label] > 0.5)) == 1, "a superpixel crosses the edge"
    assert slic_segments(np.zeros((12, 12)), n_segments=9).max() + 1 == 9
