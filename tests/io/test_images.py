"""Single image files for the classifier: hostile pictures are refused with one error naming the file."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest

from medstation.errors import UnreadableInput
from medstation.io.open_study import open_image


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_declaring(width: int, height: int) -> bytes:
    """A grey PNG whose header declares ``width`` x ``height`` pixels and which holds almost no data."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(b"\0"))
            + _chunk(b"IEND", b""))


@pytest.mark.parametrize(("width", "height"), [(30_000, 30_000), (0x7FFFFFFF, 0x7FFFFFFF)])
def test_a_picture_declaring_too_many_pixels_is_refused_naming_the_file(tmp_path, width, height):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png_declaring(width, height))
    with pytest.raises(UnreadableInput, match=rf"bomb\.png: .*declares {width * height:,} pixels"):
        open_image(bomb)


def test_a_grey_radiograph_stored_as_rgb_jpeg_is_read_as_grey_with_its_pixels(shared_path):
    from PIL import Image

    jpeg = sorted(shared_path("cxr-kermany", "images").iterdir())[0]
    with Image.open(jpeg) as picture:
        assert picture.mode == "RGB"
        rgb = np.asarray(picture)
    volume = open_image(jpeg).volume
    assert not volume.is_rgb and volume.array.shape == (1, *rgb.shape[:2]) and volume.array.dtype == np.float32
    assert np.array_equal(volume.array[0], rgb[..., 0].astype(np.float32))


def test_a_picture_with_one_coloured_pixel_stays_colour(tmp_path):
    from PIL import Image

    pixels = np.repeat(np.arange(48, dtype=np.uint8).reshape(6, 8, 1), 3, axis=2)
    pixels[2, 3] = (10, 200, 30)
    Image.fromarray(pixels).save(tmp_path / "colour.png")
    Image.fromarray(np.ascontiguousarray(pixels[..., 0])).convert("RGB").save(tmp_path / "grey.png")
    colour = open_image(tmp_path / "colour.png").volume
    assert colour.is_rgb and np.array_equal(colour.array[0], pixels.astype(np.float32))
    grey = open_image(tmp_path / "grey.png").volume
    assert not grey.is_rgb and np.array_equal(grey.array[0], pixels[..., 0].astype(np.float32))
