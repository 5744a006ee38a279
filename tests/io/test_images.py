"""Single image files for the classifier: hostile pictures are refused with one error naming the file."""

from __future__ import annotations

import struct
import zlib

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
