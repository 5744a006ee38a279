"""Image-quality maths on known distributions: Fréchet distance, k-NN precision/recall, nearest distances, blur,
and the memorisation check."""

from __future__ import annotations

import numpy as np
import pytest

from medstation.engine.generator.evaluation import matched_subsample, mean_plus_noise, memorisation
from medstation.engine.generator.quality import box_blur, frechet_distance, knn_precision_recall, nearest_distances


def test_frechet_distance_of_identical_sets_is_zero():
    features = np.random.default_rng(0).normal(size=(300, 8))
    assert frechet_distance(features, features) == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_matches_the_closed_form_for_gaussians():
    random = np.random.default_rng(1)
    a = random.normal(0.0, 1.0, size=(20000, 4))
    b = random.normal(0.0, 2.0, size=(20000, 4)) + np.array([3.0, 0.0, 0.0, 0.0])
    # |mu_a - mu_b|^2 + tr(S_a + S_b - 2 sqrt(S_a S_b)) = 9 + 4 * (1 + 4 - 2 * 2) = 13
    assert frechet_distance(a, b) == pytest.approx(13.0, rel=0.03)


def test_frechet_distance_refuses_mismatched_widths():
    with pytest.raises(ValueError, match="different widths"):
        frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))


def test_precision_and_recall_separate_fidelity_from_diversity():
    random = np.random.default_rng(2)
    real = random.normal(size=(400, 2))
    assert knn_precision_recall(real, real.copy()) == (1.0, 1.0)
    far = real + 100.0
    assert knn_precision_recall(real, far) == (0.0, 0.0)
    collapsed = np.repeat(real[:1], 400, axis=0) + random.normal(scale=1e-3, size=(400, 2))
    precision, recall = knn_precision_recall(real, collapsed)
    assert precision == 1.0 and recall < 0.1


def test_nearest_distances_are_exact():
    references = np.array([[0.0, 0.0], [10.0, 0.0]])
    queries = np.array([[3.0, 4.0], [10.0, 1.0], [0.0, 0.0]])
    np.testing.assert_allclose(nearest_distances(queries, references), [5.0, 1.0, 0.0])


def test_box_blur_averages_each_three_by_three_neighbourhood():
    image = np.zeros((1, 7, 7), dtype=np.float32)
    image[0, 3, 3] = 9.0
    blurred = box_blur(image)
    np.testing.assert_allclose(blurred[0, 2:5, 2:5], np.ones((3, 3)), rtol=1e-6)
    assert blurred.sum() == pytest.approx(9.0)
    np.testing.assert_allclose(box_blur(np.full((2, 5, 5), 0.4)), 0.4, rtol=1e-6)


def test_memorisation_check_fails_for_copies_of_training_images_and_passes_for_new_ones():
    random = np.random.default_rng(3)
    train = random.uniform(size=(200, 8, 8))
    real = random.uniform(size=(50, 8, 8))
    assert memorisation(train[:50].copy(), real, train)["passed"] is False
    assert memorisation(random.uniform(size=(50, 8, 8)), real, train)["passed"] is True


def test_references_keep_the_class_mix():
    classes = np.array([0] * 30 + [1] * 70)
    wanted = np.array([0] * 10 + [1] * 5)
    picked = matched_subsample(classes, wanted, np.random.default_rng(0))
    assert len(set(picked)) == 15 and (classes[picked] == 0).sum() == 10
    images = np.stack([np.full((4, 4), 0.2)] * 30 + [np.full((4, 4), 0.8)] * 70)
    baseline = mean_plus_noise(images, classes, wanted, np.random.default_rng(0))
    np.testing.assert_allclose(baseline[:10], 0.2)
    np.testing.assert_allclose(baseline[10:], 0.8)
