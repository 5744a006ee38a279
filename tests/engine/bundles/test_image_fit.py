"""The bundle made for an image: accepted as the classifier would take it, the nearest input size on a log scale."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from medstation.core.volume import Volume, VolumeInfo
from medstation.engine.bundles import InputSpec, IntensitySpec, accepts, best_bundle, refusal, size_distance
from medstation.engine.classifier.inputs import volume_to_input
from medstation.errors import ModelError


def _spec(size: int, modalities=("DX", "CR"), dims: int = 2, channels: int = 1) -> InputSpec:
    return InputSpec(dims, (size,) * dims, channels, IntensitySpec("minmax", {}), tuple(modalities))


def _image(rows: int, columns: int, modality: str = "DX", slices: int = 1, rgb: bool = False,
           times: int | None = None) -> Volume:
    shape = (slices, rows, columns) if times is None else (times, slices, rows, columns)
    array = np.zeros((*shape, 3) if rgb else shape, np.uint8)
    return Volume(array, np.eye(4), VolumeInfo(modality=modality), is_rgb=rgb)


FULLRES, THUMBNAIL = ("fullres", _spec(224)), ("thumbnail", _spec(28))


def test_a_radiograph_gets_the_full_resolution_model_and_a_thumbnail_the_28_pixel_one():
    assert best_bundle(_image(962, 1024), [THUMBNAIL, FULLRES]) == "fullres"
    assert best_bundle(_image(2000, 2000), [THUMBNAIL, FULLRES]) == "fullres"
    assert best_bundle(_image(28, 28), [FULLRES, THUMBNAIL]) == "thumbnail"
    assert best_bundle(_image(56, 48), [FULLRES, THUMBNAIL]) == "thumbnail", "56/28 = 2 is nearer than 224/56 = 4"
    assert best_bundle(_image(130, 130), [THUMBNAIL, FULLRES]) == "fullres", "224/130 < 130/28"


def test_the_distance_is_symmetric_on_a_log_scale_and_zero_at_the_input_size():
    spec = _spec(100)
    assert size_distance(spec, _image(100, 100)) == 0
    assert size_distance(spec, _image(200, 200)) == pytest.approx(size_distance(spec, _image(50, 50)))
    assert size_distance(spec, _image(100, 400)) == pytest.approx(np.log(4) / 2)


def test_only_bundles_that_accept_the_image_compete():
    ct_model = ("ct", _spec(1024, modalities=("CT",)))
    assert best_bundle(_image(1024, 1024), [ct_model, THUMBNAIL]) == "thumbnail", "a DX image is not a CT model's"
    assert best_bundle(_image(512, 512, "CT", slices=40), [THUMBNAIL, FULLRES]) is None
    assert best_bundle(_image(512, 512, "CT", slices=40), [("ct3d", _spec(96, ("CT",), dims=3)), FULLRES]) == "ct3d"
    assert best_bundle(_image(300, 300, ""), [FULLRES]) == "fullres", "a picture has no modality to refuse"
    assert best_bundle(_image(300, 300, rgb=True), [FULLRES, ("colour", _spec(28, channels=3))]) == "colour"
    assert best_bundle(_image(300, 300), []) is None


def test_the_current_choice_is_kept_when_it_fits_as_well_as_any():
    twin = ("twin", _spec(28))
    assert best_bundle(_image(28, 28), [THUMBNAIL, twin]) == "thumbnail", "ties go to the first listed"
    assert best_bundle(_image(28, 28), [THUMBNAIL, twin], current="twin") == "twin"
    assert best_bundle(_image(28, 28), [THUMBNAIL, FULLRES], current="fullres") == "thumbnail"


SPECS = [_spec(28), _spec(28, modalities=()), _spec(28, ("CT",)), _spec(16, ("CT",), dims=3), _spec(28, channels=3)]
IMAGES = [_image(28, 28), _image(40, 30, "CT"), _image(28, 28, "CT", slices=5), _image(28, 28, rgb=True),
          _image(28, 28, "MR", slices=4, times=3), _image(28, 28, "")]


@pytest.mark.parametrize(("spec", "image"), list(itertools.product(SPECS, IMAGES)))
def test_accepts_says_what_the_classifier_takes(spec, image):
    try:
        volume_to_input(image, spec)
        taken = True
    except ModelError:
        taken = False
    assert accepts(spec, image) == taken


def test_a_refusal_says_why_in_words():
    assert refusal(_spec(28), _image(28, 28)) is None
    assert refusal(_spec(28), _image(28, 28, "CT")) == "is made for DX, CR images, not CT"
    assert refusal(_spec(28, ()), _image(28, 28, "CT", slices=5)) == "takes single 2D images, not volumes"
    assert refusal(_spec(16, (), dims=3), _image(28, 28)) == "takes volumes, not single images"
    assert refusal(_spec(28, (), channels=3), _image(28, 28)) == "takes colour images, not greyscale"
    assert refusal(_spec(28, ()), _image(28, 28, rgb=True)) == "takes greyscale images, not colour"
    assert refusal(_spec(28, ()), _image(28, 28, "MR", slices=4, times=3)) == "takes one volume, not a series of 3"
