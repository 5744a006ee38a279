"""Export images to files a user can take elsewhere.

write_synthetic(images, labels, out_dir, fmt, model=..., seed=...) -> list[Path]
    Generated images as PNG viewing copies, NIfTI or DICOM Secondary Capture, each marked synthetic in its
    metadata (and, for PNG, in its pixels). Every file is written to a temporary name and moved into place;
    an existing file is never overwritten, and a failure part-way removes the files written so far.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from medstation.atomic_files import write_atomically
from medstation.errors import MedStationError
from medstation.io.synthetic.provenance import SyntheticProvenance
from medstation.progress import CancelToken, ProgressCallback, check_cancelled, report

SYNTHETIC_FORMATS = {"png": ".png", "nii": ".nii", "dcm": ".dcm"}
NIFTI_PIXEL_SPACING_MM = 1.0


def write_synthetic(
    batch_images: np.ndarray,
    labels: list[str],
    out_dir: str | os.PathLike,
    fmt: str,
    *,
    model: str,
    seed: int,
    indices: list[int] | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken = None,
) -> list[Path]:
    """Write each image ``[N, row, column]`` (floats in [0, 1]) with its requested class to ``out_dir``.

    Parameters
    ----------
    batch_images
        The generated samples, floats in [0, 1].
    labels
        The class each sample was generated for, one per image.
    out_dir
        Folder for the files; created if needed.
    fmt
        ``png`` (enlarged 8-bit viewing copy with SYNTHETIC burned in and a text chunk), ``nii`` (float32
        pixels exactly the sample, header description starting with SYNTHETIC) or ``dcm`` (Secondary
        Capture, 16-bit, see :mod:`medstation.io.synthetic.dicom`).
    model, seed
        The generator and seed, recorded in every file.
    indices
        Each image's position in the batch it was sampled in (default 0, 1, ...), recorded in every file and its
        name, so an exported selection keeps the sample numbers.

    Returns
    -------
    list[Path]
        The files written, in batch order.

    Raises
    ------
    MedStationError
        For images, labels or a format that cannot be written, an ``out_dir`` that cannot be made, or a file
        that already exists; nothing is left on disk by a failed call.
    """
    images = _checked_images(batch_images, labels, fmt)
    indices = list(range(len(images))) if indices is None else [int(index) for index in indices]
    if len(indices) != len(images) or len(set(indices)) != len(indices):
        raise MedStationError(f"{len(images)} images need as many distinct sample indices, got {indices}")
    folder = _prepared_folder(Path(out_dir))
    writer = _WRITERS[fmt]
    provenances = [
        SyntheticProvenance(model, int(seed), index, str(label)) for index, label in zip(indices, labels, strict=True)
    ]
    targets = [folder / f"{item.file_stem()}{SYNTHETIC_FORMATS[fmt]}" for item in provenances]
    existing = [path for path in targets if path.exists()]
    if existing:
        raise MedStationError(
            f"{existing[0]}: already exists ({len(existing)} of the {len(targets)} files would be overwritten); "
            "choose another folder or seed"
        )
    written: list[Path] = []
    try:
        for image, provenance, target in zip(images, provenances, targets, strict=True):
            check_cancelled(cancel)
            report(progress, len(written) / len(targets), f"writing {target.name}")
            _write_atomically(target, lambda path, image=image, provenance=provenance: writer(image, provenance, path))
            written.append(target)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    report(progress, 1.0, f"{len(written)} synthetic {fmt} files in {folder}")
    return written


def _checked_images(batch_images: np.ndarray, labels: list[str], fmt: str) -> np.ndarray:
    if fmt not in SYNTHETIC_FORMATS:
        raise MedStationError(f"unknown export format {fmt!r}; use one of {', '.join(SYNTHETIC_FORMATS)}")
    images = np.asarray(batch_images)
    if images.ndim != 3 or not np.issubdtype(images.dtype, np.floating):
        raise MedStationError(
            f"synthetic images must be floats shaped [N, rows, columns], got {images.dtype} {images.shape}"
        )
    if len(labels) != len(images):
        raise MedStationError(f"{len(images)} images but {len(labels)} labels; give one label per image")
    if images.size and not (np.all(np.isfinite(images)) and images.min() >= 0.0 and images.max() <= 1.0):
        raise MedStationError("synthetic images must hold finite values in [0, 1]; clip or rescale them first")
    return images.astype(np.float32, copy=False)


def _prepared_folder(out_dir: Path) -> Path:
    if out_dir.exists() and not out_dir.is_dir():
        raise MedStationError(f"{out_dir}: is a file, not a folder; choose a folder for the synthetic images")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise MedStationError(
            f"{out_dir}: cannot create the output folder ({error.strerror or error}); choose a writable folder"
        ) from error
    if not os.access(out_dir, os.W_OK):
        raise MedStationError(f"{out_dir}: the output folder is not writable; choose another folder")
    return out_dir


def _write_atomically(target: Path, write: Callable[[Path], None]) -> None:
    """Write ``target`` complete or not at all, never over a file that appeared meanwhile."""
    try:
        write_atomically(target, write, replace=False)
    except FileExistsError:
        raise MedStationError(
            f"{target}: appeared while writing; it was left as it is, choose another folder"
        ) from None
    except OSError as error:
        raise MedStationError(f"{target}: could not be written ({error.strerror or error})") from error


def _write_png(image: np.ndarray, provenance: SyntheticProvenance, path: Path) -> None:
    from medstation.io.synthetic.png import write_synthetic_png

    write_synthetic_png(image, provenance, path)


def _write_nifti(image: np.ndarray, provenance: SyntheticProvenance, path: Path) -> None:
    """One-slice float32 NIfTI ``[x, y, 1]`` of the exact sample; nominal 1 mm pixels; descrip says SYNTHETIC."""
    from medstation.io.nifti import LPS_FROM_RAS
    from medstation.io.nifti_write import write_nifti

    affine = LPS_FROM_RAS @ np.diag([NIFTI_PIXEL_SPACING_MM, NIFTI_PIXEL_SPACING_MM, 1.0, 1.0])
    write_nifti(image[np.newaxis], affine, path, provenance.short_description())


def _write_dicom(image: np.ndarray, provenance: SyntheticProvenance, path: Path) -> None:
    from medstation.io.synthetic.dicom import write_synthetic_dicom

    write_synthetic_dicom(image, provenance, path)


_WRITERS = {"png": _write_png, "nii": _write_nifti, "dcm": _write_dicom}
