"""Pictures (PNG, JPEG, BMP, TIFF) as Volumes, and the image files of a folder a model is run on.

A picture is read with Pillow into a volume of one slice with an identity geometry (a picture has no patient
coordinates). A grey picture stored as RGB (three equal channels) is read as grey. Any image file, picture or not,
is opened with :func:`medstation.io.open_study.open_image`.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from medstation.core.volume import Volume
from medstation.errors import UnreadableInput

NOT_IMAGES = (".md", ".txt", ".csv", ".json", ".html", ".pdf")
"""Documentation and table files that may sit beside images and are not offered to a model."""
_PIXEL_LIMIT = re.compile(r"\((\d+) pixels\) exceeds limit of (\d+) pixels")


def _too_many_pixels(path: Path, error: Exception) -> UnreadableInput:
    """The error for a picture whose header declares more pixels than Pillow reads (a decompression bomb)."""
    found = _PIXEL_LIMIT.search(str(error))
    if found is None:
        return UnreadableInput(f"{path}: refused to read: {error}")
    declared, limit = (int(number) for number in found.groups())
    return UnreadableInput(
        f"{path}: refused to read: the picture declares {declared:,} pixels, more than the {limit:,} allowed "
        "(a damaged header or a decompression bomb)"
    )


def _equal_channels(pixels: np.ndarray) -> bool:
    """Whether the three channels of 8-bit RGB ``pixels`` ``[j, i, 3]`` are equal (a grey picture stored as RGB),
    compared as the bytes they are, before any conversion to float."""
    return bool(np.array_equal(pixels[..., 0], pixels[..., 1]) and np.array_equal(pixels[..., 0], pixels[..., 2]))


def read_picture(path: Path) -> Volume:
    """A picture as one slice ``[1, j, i]`` (``[1, j, i, 3]`` for colour), without patient geometry; UnreadableInput
    naming the file when Pillow cannot read it or it declares more pixels than Pillow reads."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as picture:
            picture.load()
            if picture.mode in ("1", "L", "I", "I;16", "F"):
                array = np.asarray(picture, dtype=np.float32)
            else:
                pixels = np.asarray(picture if picture.mode == "RGB" else picture.convert("RGB"))
                # float32 holds every 8-bit value exactly, so converting after the comparison changes nothing
                array = (pixels[..., 0] if _equal_channels(pixels) else pixels).astype(np.float32)
    except Image.DecompressionBombError as error:
        raise _too_many_pixels(path, error) from None
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise UnreadableInput(f"{path}: not a readable picture ({error})") from None
    is_rgb = array.ndim == 3
    return Volume(array=array[np.newaxis], affine=np.eye(4), is_rgb=is_rgb, has_patient_geometry=False,
                  spacing_known=False)


def image_files_in(folder: Path | str) -> list[Path]:
    """Every file under ``folder`` (recursively, sorted) that could be an image: hidden files and documentation
    or table files (:data:`NOT_IMAGES`) are left out."""
    root = Path(folder)
    return sorted(
        path
        for path in root.rglob("*")
        if path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(root).parts)
        and path.suffix.lower() not in NOT_IMAGES
    )
