"""Decode DICOM pixel data safely: check its length against the header first, then let pydicom decode."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from medstation.errors import UnreadableInput

_NATIVE_TRANSFER_SYNTAXES = {
    "1.2.840.10008.1.2",  # implicit VR little endian
    "1.2.840.10008.1.2.1",  # explicit VR little endian
    "1.2.840.10008.1.2.1.99",  # deflated explicit VR little endian
    "1.2.840.10008.1.2.2",  # explicit VR big endian
}


def is_native_transfer_syntax(uid: str) -> bool:
    """True when the pixel data is stored uncompressed (its byte length is fixed by the header)."""
    return uid in _NATIVE_TRANSFER_SYNTAXES


def expected_pixel_bytes(dataset) -> int:
    """Bytes of uncompressed pixel data described by Rows x Columns x Frames x Samples x BitsAllocated."""
    frames = dataset.get("NumberOfFrames", 1)
    frames = int(frames) if frames not in (None, "") else 1
    samples = int(dataset.get("SamplesPerPixel", 1) or 1)
    bits = int(dataset.get("BitsAllocated", 16))
    pixels = int(dataset.Rows) * int(dataset.Columns) * frames * samples
    return (pixels * bits + 7) // 8


def read_pixel_frames(path: Path) -> np.ndarray:
    """Decode every frame of ``path`` as stored values, shaped ``[frame, row, column(, sample)]``.

    The array is in native byte order; no rescale is applied. YBR colour is converted to RGB.

    Raises
    ------
    UnreadableInput
        When the file is damaged, truncated or its pixel data cannot be decoded.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = _read_dataset(path)
        pixels = _decode(path, dataset)
    frames = dataset.get("NumberOfFrames", 1)
    frames = int(frames) if frames not in (None, "") else 1
    samples = int(dataset.get("SamplesPerPixel", 1) or 1)
    if frames == 1:
        pixels = pixels[np.newaxis]
    expected_shape = (frames, int(dataset.Rows), int(dataset.Columns)) + ((samples,) if samples > 1 else ())
    if pixels.shape != expected_shape:
        raise UnreadableInput(
            f"{path}: decoded pixel data has shape {pixels.shape}, expected {expected_shape}"
        )
    if not pixels.dtype.isnative:
        pixels = pixels.astype(pixels.dtype.newbyteorder("="))
    return pixels


def _read_dataset(path: Path):
    from pydicom import dcmread

    try:
        dataset = dcmread(path)
    except Exception as error:
        raise UnreadableInput(f"{path}: damaged DICOM file ({type(error).__name__}: {error})") from error
    if "PixelData" not in dataset:
        raise UnreadableInput(f"{path}: the file has no pixel data")
    _check_pixel_data_length(path, dataset)
    return dataset


def _decode(path: Path, dataset) -> np.ndarray:
    try:
        return dataset.pixel_array
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as error:  # decoder plugins written in Rust raise PanicException, a BaseException
        reason = f"{type(error).__name__}: {error}"
        raise UnreadableInput(f"{path}: pixel data cannot be decoded ({reason})") from error


def _check_pixel_data_length(path: Path, dataset) -> None:
    transfer_syntax = str(dataset.file_meta.get("TransferSyntaxUID", "1.2.840.10008.1.2"))
    if not is_native_transfer_syntax(transfer_syntax):
        return
    needed = expected_pixel_bytes(dataset)
    available = len(dataset.PixelData)
    if available < needed:
        raise UnreadableInput(
            f"{path}: truncated pixel data: {available} bytes, expected {needed} for "
            f"{dataset.Rows} x {dataset.Columns} x {dataset.get('NumberOfFrames', 1)} frames "
            f"x {dataset.get('SamplesPerPixel', 1)} samples at {dataset.get('BitsAllocated')} bits"
        )
