"""Decode DICOM pixel data safely: check its length against the header first.

Uncompressed pixel data that the scan located (:class:`StoredPixels`) is read straight from the file with
numpy, masked to BitsStored as pydicom does; anything else is decoded by pydicom and its plugins. JPEG Baseline
goes to pydicom's Pillow plugin where it is available: JPEG decoders may differ by one grey level (the standard
allows it; pylibjpeg's libjpeg and Pillow's libjpeg-turbo do), and Pillow is what reads pictures
(:mod:`medstation.io.images`), so a JPEG shows the same pixels whether it comes as a file or inside DICOM, and
whichever optional decoders are installed.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medstation.errors import UnreadableInput

_NATIVE_TRANSFER_SYNTAXES = {
    "1.2.840.10008.1.2",  # implicit VR little endian
    "1.2.840.10008.1.2.1",  # explicit VR little endian
    "1.2.840.10008.1.2.1.99",  # deflated explicit VR little endian
    "1.2.840.10008.1.2.2",  # explicit VR big endian
}


_LITTLE_ENDIAN_NATIVE = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1"}
_BIG_ENDIAN_NATIVE = "1.2.840.10008.1.2.2"
DEFLATED = "1.2.840.10008.1.2.1.99"
JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
# Photometric interpretations whose uncompressed pixels carry fewer values than SamplesPerPixel says:
# YBR_FULL_422 shares each Cb, Cr pair between two horizontally adjacent pixels (4 values per 2 pixels).
_VALUES_PER_PIXEL = {"YBR_FULL_422": 2}


@dataclass(frozen=True)
class StoredPixels:
    """Where a file's uncompressed pixel data lies and how its values are stored.

    Attributes
    ----------
    offset
        Byte offset of the pixel data value in the file.
    dtype
        Stored element type with its byte order, e.g. ``"<u2"`` or ``">i2"``.
    shape
        ``(frames, rows, columns)`` or ``(frames, rows, columns, samples)``.
    bits_stored
        Significant low bits of each value; the others are masked off (and the sign extended).
    """

    offset: int
    dtype: str
    shape: tuple[int, ...]
    bits_stored: int


def number_of_frames(dataset) -> int:
    """NumberOfFrames, or 1 when absent or empty."""
    value = dataset.get("NumberOfFrames", 1)
    return int(value) if value not in (None, "") else 1


def pixel_data_extent(element) -> tuple[int | None, int]:
    """``(offset, length)`` in bytes of a pixel data element's value in its file (offset None if unknown).

    Works for a deferred (raw) element and for one whose value was loaded.
    """
    offset = getattr(element, "value_tell", None) or getattr(element, "file_tell", None)
    length = element.length if hasattr(element, "length") else len(element.value or b"")
    return offset, length


def locate_stored_pixels(dataset, element) -> StoredPixels | None:
    """Describe ``dataset``'s pixel data for a direct read, or None when pydicom must decode it."""
    transfer_syntax = _transfer_syntax(dataset)
    if transfer_syntax not in _LITTLE_ENDIAN_NATIVE and transfer_syntax != _BIG_ENDIAN_NATIVE:
        return None
    bits_allocated = int(dataset.get("BitsAllocated", 0) or 0)
    bits_stored = int(dataset.get("BitsStored", bits_allocated) or bits_allocated)
    samples = int(dataset.get("SamplesPerPixel", 1) or 1)
    colour_ok = samples == 1 or (
        samples == 3
        and int(dataset.get("PlanarConfiguration", 0) or 0) == 0
        and str(dataset.get("PhotometricInterpretation", "")) == "RGB"
    )
    offset, _ = pixel_data_extent(element)
    # Anything the standard does not allow goes to pydicom, which checks it and says what is wrong; so does
    # 8-bit big-endian data, which an OW element stores as byte-swapped 16-bit words.
    if (
        bits_allocated not in (8, 16, 32)
        or (bits_allocated == 8 and transfer_syntax == _BIG_ENDIAN_NATIVE)
        or not 1 <= bits_stored <= bits_allocated
        or int(dataset.get("PixelRepresentation", 0) or 0) not in (0, 1)
        or int(dataset.get("HighBit", bits_stored - 1)) != bits_stored - 1
        or not colour_ok
        or not offset
        or getattr(element, "is_undefined_length", False)
    ):
        return None
    signed = int(dataset.get("PixelRepresentation", 0) or 0) == 1
    order = ">" if transfer_syntax == _BIG_ENDIAN_NATIVE else "<"
    shape = (number_of_frames(dataset), int(dataset.Rows), int(dataset.Columns)) + ((samples,) if samples > 1 else ())
    dtype = f"{order}{'i' if signed else 'u'}{bits_allocated // 8}"
    return StoredPixels(offset=int(offset), dtype=dtype, shape=shape, bits_stored=bits_stored)


def is_native_transfer_syntax(uid: str) -> bool:
    """True when the pixel data is stored uncompressed (its byte length is fixed by the header)."""
    return uid in _NATIVE_TRANSFER_SYNTAXES


def expected_pixel_bytes(dataset) -> int:
    """Bytes of uncompressed pixel data: Rows x Columns x Frames x values per pixel x BitsAllocated.

    Values per pixel are SamplesPerPixel, except where the photometric interpretation subsamples colour
    (YBR_FULL_422: 2).
    """
    frames = number_of_frames(dataset)
    samples = int(dataset.get("SamplesPerPixel", 1) or 1)
    photometric = str(dataset.get("PhotometricInterpretation", "") or "").strip()
    values = _VALUES_PER_PIXEL.get(photometric, samples) if samples == 3 else samples
    bits = int(dataset.get("BitsAllocated", 16))
    pixels = int(dataset.Rows) * int(dataset.Columns) * frames * values
    return (pixels * bits + 7) // 8


def read_pixel_frames(path: Path, stored: StoredPixels | None = None) -> np.ndarray:
    """Decode every frame of ``path`` as stored values, shaped ``[frame, row, column(, sample)]``.

    The array is in native byte order; no rescale is applied. YBR colour is converted to RGB.
    With ``stored`` (found by the scan) uncompressed data is read directly, without parsing the header again.

    Raises
    ------
    UnreadableInput
        When the file is damaged, truncated or its pixel data cannot be decoded.
    """
    if stored is not None:
        return _read_stored(path, stored)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = _read_dataset(path)
        pixels = _decode(path, dataset)
    frames = number_of_frames(dataset)
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


def _read_stored(path: Path, stored: StoredPixels) -> np.ndarray:
    values = np.empty(stored.shape, dtype=native_dtype(stored))
    read_stored_into(path, stored, values)
    return values


def native_dtype(stored: StoredPixels) -> np.dtype:
    """The stored element type in native byte order."""
    return np.dtype(stored.dtype).newbyteorder("=")


def read_stored_into(path: Path, stored: StoredPixels, out: np.ndarray) -> None:
    """Read uncompressed pixel data straight into ``out``, masked to BitsStored, without a temporary copy.

    ``out`` is C-contiguous, of :func:`native_dtype` and holds exactly ``stored.shape`` values (any shape).

    Raises
    ------
    UnreadableInput
        When the file cannot be read or ends before the pixel data does.
    """
    target = memoryview(out).cast("B")
    filled = 0
    try:
        with open(path, "rb", buffering=0) as file:
            file.seek(stored.offset)
            while filled < len(target):
                count = file.readinto(target[filled:])
                if not count:
                    break
                filled += count
    except OSError as error:
        raise UnreadableInput(f"{path}: cannot read pixel data ({error})") from error
    if filled < len(target):
        raise UnreadableInput(f"{path}: truncated pixel data: {filled} bytes present, {len(target)} expected")
    if not np.dtype(stored.dtype).isnative:
        out.byteswap(inplace=True)
    unused_bits = out.dtype.itemsize * 8 - stored.bits_stored
    if unused_bits > 0:
        if out.dtype.kind == "i":
            np.left_shift(out, unused_bits, out=out)
            np.right_shift(out, unused_bits, out=out)
        else:
            np.bitwise_and(out, (1 << stored.bits_stored) - 1, out=out)


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
        if _transfer_syntax(dataset) == JPEG_BASELINE and _pillow_decodes_jpeg_baseline():
            dataset.pixel_array_options(decoding_plugin="pillow")
        return dataset.pixel_array
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as error:  # decoder plugins written in Rust raise PanicException, a BaseException
        raise UnreadableInput(f"{path}: pixel data cannot be decoded ({first_line(error)})") from error


def _transfer_syntax(dataset) -> str:
    meta = getattr(dataset, "file_meta", None)
    return str(meta.get("TransferSyntaxUID", "")) if meta is not None else ""


def _pillow_decodes_jpeg_baseline() -> bool:
    from pydicom.pixels import get_decoder

    return "pillow" in get_decoder(JPEG_BASELINE).available_plugins


def first_line(error: BaseException) -> str:
    """``"TypeName: first line of the message"``: a decoder's multi-line explanation shortened to one line."""
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__


def _check_pixel_data_length(path: Path, dataset) -> None:
    transfer_syntax = str(dataset.file_meta.get("TransferSyntaxUID", "1.2.840.10008.1.2"))
    if not is_native_transfer_syntax(transfer_syntax):
        return
    needed = expected_pixel_bytes(dataset)
    available = len(dataset.PixelData)
    if available < needed:
        raise UnreadableInput(
            f"{path}: truncated pixel data: {available} bytes, expected {needed} for "
            f"{dataset.Rows} x {dataset.Columns} x {number_of_frames(dataset)} frames "
            f"x {dataset.get('SamplesPerPixel', 1)} samples at {dataset.get('BitsAllocated')} bits"
        )
