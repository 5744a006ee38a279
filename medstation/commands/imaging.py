"""``medstation info``, ``convert`` and ``import``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from medstation.cli_progress import ProgressBar
from medstation.commands.output import print_json, refuse_writing_into_source, skipped_entries
from medstation.errors import MedStationError
from medstation.io.formats import DICOM, format_of


def _one_blas_thread() -> None:
    """Ask OpenBLAS for a single thread before numpy first loads (a value the user set is kept).

    These commands do no linear algebra beyond 3 x 3 matrices, yet importing numpy starts one OpenBLAS thread
    per core; on a busy 2-core machine that cost ~0.17 s of a ~0.6 s ``convert`` (benchmarks/io_load.py).
    Nothing is changed when numpy is already loaded (a command run inside another program).
    """
    if "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def _volume_description(path: Path) -> dict:
    from medstation.io.open_study import open_image

    volume = open_image(path).volume
    return {
        "path": str(path),
        "shape": list(volume.array.shape),
        "spacing": [round(value, 6) for value in volume.spacing],
        "spacing_known": volume.spacing_known,
        "origin": [round(float(value), 6) for value in volume.origin],
        "orientation": volume.orientation,
        "tilt_degrees": round(volume.shear_angle_degrees, 3),
        "dtype": str(volume.array.dtype),
        "warnings": list(volume.warnings),
    }


def _format_series(description: dict) -> str:
    shape = "x".join(str(n) for n in description["shape"])
    spacing = " x ".join(f"{value:g}" for value in description["spacing"])
    spacing = f"{spacing} mm" if description.get("spacing_known", True) else "unknown (distances in pixels)"
    number = description.get("series_number")
    head = f"series {number if number is not None else '-'}"
    if description.get("split"):
        head += f" [{description['split']}]"
    name = f"{description.get('modality', '')} {description.get('series_description', '')}".strip()
    lines = [f"{head}: {name}  shape {shape}  spacing {spacing}  orientation {description['orientation']}"]
    lines += [f"    warning: {warning}" for warning in description["warnings"]]
    return "\n".join(lines)


def run_info(args: argparse.Namespace) -> int:
    _one_blas_thread()
    path = Path(args.path)
    if format_of(path) is not DICOM:
        description = _volume_description(path)
        if args.json:
            print_json({"path": str(path), "series": [description], "skipped": []})
        else:
            print(_format_series(description))
        return 0
    from medstation.io.dicom.series import describe_series, scan_dicom

    with ProgressBar(args.progress) as bar:
        scan = scan_dicom(path, progress=bar)
    skipped = skipped_entries(scan.skipped)
    descriptions = [describe_series(series) for series in scan.series]
    if args.json:
        print_json({"path": str(path), "series": descriptions, "skipped": skipped})
        return 0
    if not descriptions:
        print(f"{path}: no DICOM image series found")
    studies: dict[str, list[dict]] = {}
    for description in descriptions:
        studies.setdefault(description["study_uid"], []).append(description)
    for study in studies.values():
        first = study[0]
        print(f"patient {first['patient_id']}  study {first['study_date']} {first['study_description']}".rstrip())
        for description in study:
            print("  " + _format_series(description).replace("\n", "\n  "))
    return 0


def run_convert(args: argparse.Namespace) -> int:
    _one_blas_thread()
    from medstation.io.nifti import write_volume
    from medstation.io.open_study import open_image

    path = Path(args.path)
    refuse_writing_into_source(path, args.out)
    if not Path(args.out).parent.is_dir():
        raise MedStationError(f"{args.out}: the folder {Path(args.out).parent} does not exist")
    with ProgressBar(args.progress) as bar:
        volume = open_image(path, args.series, lambda f, m: bar(0.9 * f, m), on_skipped=skipped_entries).volume
        bar(0.95, f"writing {args.out}")
        written = write_volume(volume, args.out)
    for warning in volume.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"wrote {written} ({'x'.join(map(str, volume.array.shape))}, orientation {volume.orientation})")
    return 0


def run_import(args: argparse.Namespace) -> int:
    _one_blas_thread()
    from medstation.io.database import StudyDatabase

    with StudyDatabase() as database, ProgressBar(args.progress) as bar:
        result = database.import_folder(args.path, progress=bar)
    skipped_entries([(Path(path), reason) for path, reason in result.unreadable])
    summary = {
        "root": result.root,
        "read": result.read,
        "unchanged": result.unchanged,
        "removed": result.removed,
        "unreadable": len(result.unreadable),
        "database": str(database.path),
    }
    if args.json:
        print_json(summary)
    else:
        print(
            f"imported {result.root}: {result.read} files read, {result.unchanged} unchanged, "
            f"{result.removed} removed, {len(result.unreadable)} unreadable (database {database.path})"
        )
    return 0
