"""A study's series as files to take elsewhere: DICOM (copied, or de-identified), NIfTI, or PNG slices.

``export_series`` scans PATH, takes every series it holds (or the one ``series`` names), and writes each as
``series-NNN-MODALITY`` (numbered in scan order, no identity in the name): a folder of ``NNNN.dcm`` files, a
``.nii.gz`` file, or a folder of ``slice-NNNN.png`` (the first volume of a 4-D series, through the window it opens
with). Everything is written into a hidden staging folder in OUT_DIR first and moved into place only when all of
it is complete, so a failure (a file that cannot be de-identified, a cancel) leaves nothing behind. An existing
output is replaced only with ``force``; OUT_DIR may not be or lie inside PATH.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from medstation.io.export.deidentify import DeidentificationOptions, DeidentificationTally, Deidentifier
from medstation.io.export.files import (
    ExportError,
    make_folder,
    publish_folder,
    refuse_existing,
    refuse_source_target,
    staging_folder,
)
from medstation.progress import CancelToken, ProgressCallback, check_cancelled, report

FORMATS = ("dicom", "nifti", "png")


@dataclass
class ExportSummary:
    """What an export wrote: one output per series, the files skipped while scanning, the de-identification."""

    outputs: list[Path] = field(default_factory=list)
    files: int = 0
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    deidentification: DeidentificationTally | None = None

    def as_dict(self) -> dict:
        return {"outputs": [str(path) for path in self.outputs], "files": self.files,
                "deidentification": None if self.deidentification is None else self.deidentification.as_dict()}


def output_name(number: int, series, fmt: str) -> str:
    """``series-NNN-MODALITY`` (with ``.nii.gz`` for NIfTI)."""
    modality = "".join(ch for ch in (series.identity.modality or "OT") if ch.isalnum()) or "OT"
    return f"series-{number:03d}-{modality}" + (".nii.gz" if fmt == "nifti" else "")


def export_series(
    path: str | os.PathLike,
    out_dir: str | os.PathLike,
    fmt: str,
    series: str | None = None,
    anonymize: bool = False,
    options: DeidentificationOptions | None = None,
    force: bool = False,
    seed: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken = None,
) -> ExportSummary:
    """Export the series of ``path`` into ``out_dir`` as ``fmt`` (``dicom``, ``nifti`` or ``png``).

    ``anonymize`` de-identifies DICOM per :mod:`medstation.io.export.deidentify` (``options``; ``seed`` for
    reproducible pseudonyms and offsets), and leaves patient names and descriptions out of NIfTI headers.

    Raises
    ------
    ExportError
        An unknown format, an output in the way (without ``force``), ``out_dir`` being or lying inside ``path``.
    DeidentificationRefused
        Naming the first file a de-identified export cannot include; nothing is written.
    UnreadableInput
        When ``path`` holds no image series (or not the one asked for).
    """
    from medstation.io.dicom.series import scan_dicom
    from medstation.io.dicom.series_selection import select_series

    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    source, out = Path(path), Path(out_dir)
    refuse_source_target(out, [source])
    scan = scan_dicom(source, lambda f, m: report(progress, 0.1 * f, m), cancel)
    chosen = [select_series(scan, series, str(source))] if series is not None else list(scan.series)
    if not chosen:
        select_series(scan, None, str(source))  # raises, naming what was skipped
    names = [output_name(scan.series.index(item) + 1, item, fmt) for item in chosen]
    for name in names:
        refuse_existing(out / name, force)
    summary = ExportSummary(skipped=list(scan.skipped))
    deidentifier = Deidentifier(options, seed) if anonymize else None
    make_folder(out)
    staging = staging_folder(out, "export")
    try:
        for number, (item, name) in enumerate(zip(chosen, names, strict=True)):
            check_cancelled(cancel)
            span = (0.1 + 0.85 * number / len(chosen), 0.85 / len(chosen))
            step = lambda f, m, span=span: report(progress, span[0] + span[1] * f, m)  # noqa: E731
            summary.files += _WRITERS[fmt](item, staging / name, deidentifier, step, cancel)
        for name in names:
            publish_folder(staging / name, out / name, force)
            summary.outputs.append(out / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    summary.deidentification = None if deidentifier is None else deidentifier.tally
    report(progress, 1.0, f"exported {len(summary.outputs)} series to {out}")
    return summary


def _write_dicom(series, target: Path, deidentifier: Deidentifier | None, progress, cancel) -> int:
    import pydicom
    from pydicom.errors import InvalidDicomError

    from medstation.io.export.deidentify import DeidentificationRefused

    target.mkdir()
    paths = series.paths
    for index, path in enumerate(paths, start=1):
        check_cancelled(cancel)
        progress((index - 1) / len(paths), f"writing {path.name}")
        destination = target / f"{index:04d}.dcm"
        if deidentifier is None:
            shutil.copyfile(path, destination)
            continue
        try:
            dataset = pydicom.dcmread(path)
        except (OSError, InvalidDicomError, ValueError) as error:
            raise DeidentificationRefused(f"{path}: cannot be read again to de-identify it ({error}); left out") \
                from error
        deidentifier.deidentify(dataset, path)
        dataset.save_as(destination, enforce_file_format=True)
    return len(paths)


def _loaded(series, deidentifier, progress, cancel):
    from medstation.core.volume import VolumeInfo
    from medstation.io.dicom.series import load_series

    volume = load_series(series, lambda f, m: progress(0.8 * f, m), cancel)
    if deidentifier is not None:
        info = volume.info
        volume.info = VolumeInfo(modality=info.modality, series_number=info.series_number,
                                 series_description=f"{info.modality or 'image'} series {info.series_number or ''}"
                                 .strip(), photometric=info.photometric, window_presets=info.window_presets)
    return volume


def _write_nifti(series, target: Path, deidentifier, progress, cancel) -> int:
    from medstation.io.nifti import write_volume

    write_volume(_loaded(series, deidentifier, progress, cancel), target)
    return 1


def _write_png(series, target: Path, deidentifier, progress, cancel) -> int:
    from PIL import Image

    from medstation.core.window_level import default_window
    from medstation.io.export.overlay_image import grey_slice

    volume = _loaded(series, deidentifier, progress, cancel)
    target.mkdir()
    window = default_window(volume)
    n = volume.spatial_shape[0]
    for k in range(n):
        check_cancelled(cancel)
        if volume.is_rgb:
            pixels = np.asarray(volume.array[k][..., :3]).astype(np.uint8)
        else:
            pixels = grey_slice(volume, k, window)
        Image.fromarray(pixels).save(target / f"slice-{k + 1:04d}.png")
        progress(0.8 + 0.2 * (k + 1) / n, f"slice {k + 1} of {n}")
    return n


_WRITERS = {"dicom": _write_dicom, "nifti": _write_nifti, "png": _write_png}
