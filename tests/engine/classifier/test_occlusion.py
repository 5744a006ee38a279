"""The shortcut check's occlusion of borders and corners."""

import numpy as np

from medstation.engine.classifier.occlusion import BORDER, CORNER, occlude_border_and_corners


def test_the_border_band_and_corner_squares_take_the_image_mean_and_the_middle_is_kept():
    image = np.arange(100 * 100, dtype=np.float32).reshape(1, 100, 100)
    occluded = occlude_border_and_corners(image)
    mean = image.mean()
    band, corner = round(BORDER * 100), round(CORNER * 100)
    assert np.all(occluded[0, :band] == mean) and np.all(occluded[0, :, -band:] == mean)
    assert np.all(occluded[0, :corner, :corner] == mean) and np.all(occluded[0, -corner:, -corner:] == mean)
    assert np.array_equal(occluded[0, corner:-corner, band:-band], image[0, corner:-corner, band:-band])
    assert np.array_equal(occluded[0, band:-band, corner:-corner], image[0, band:-band, corner:-corner])
    assert image[0, 0, 0] == 0  # the input is not changed
