"""Synthetic images as PNG viewing copies: enlarged, with "SYNTHETIC" burned into the pixels and a text chunk.

The PNG is for viewing, not analysis: the sample is enlarged by an integer factor (nearest neighbour, so every
sample pixel becomes a square block) to at least :data:`VIEWING_SIZE` pixels on its longer side, quantised to
8 bits, and a black box with the white word SYNTHETIC covers its top-left corner. The exact sample values go to
NIfTI or DICOM instead.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from medstation import __version__
from medstation.io.synthetic.provenance import SYNTHETIC, SyntheticProvenance

VIEWING_SIZE = 256
LABEL_HEIGHT_FRACTION = 0.09
TEXT_KEY = "Synthetic"


def viewing_pixels(image: np.ndarray) -> np.ndarray:
    """The 8-bit enlarged image ``[row, column]`` with the SYNTHETIC label burned in."""
    from PIL import Image, ImageDraw, ImageFont

    factor = max(1, int(np.ceil(VIEWING_SIZE / max(image.shape))))
    grey = np.rint(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)
    enlarged = Image.fromarray(np.kron(grey, np.ones((factor, factor), np.uint8)), mode="L")
    draw = ImageDraw.Draw(enlarged)
    font = ImageFont.load_default(size=max(8, round(LABEL_HEIGHT_FRACTION * enlarged.height)))
    left, top, right, bottom = draw.textbbox((0, 0), SYNTHETIC, font=font)
    margin = max(2, (bottom - top) // 4)
    draw.rectangle((0, 0, right - left + 2 * margin, bottom - top + 2 * margin), fill=0)
    draw.text((margin - left, margin - top), SYNTHETIC, fill=255, font=font)
    return np.asarray(enlarged)


def write_synthetic_png(image: np.ndarray, provenance: SyntheticProvenance, path: Path) -> None:
    """Write the labelled viewing copy of ``image`` (floats in [0, 1], ``[row, column]``) to ``path``."""
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_itxt(TEXT_KEY, provenance.statement())
    info.add_itxt("Description", "Viewing copy: enlarged, 8-bit, with a burned-in SYNTHETIC label; not for analysis")
    info.add_itxt("Software", f"MedStation {__version__}")
    Image.fromarray(viewing_pixels(image), mode="L").save(path, format="PNG", pnginfo=info)
