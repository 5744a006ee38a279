"""Loading a real 140 x 512 x 512 CT series: MedStation against SimpleITK, dcm2niix and plain pydicom.

Issue 3's goals, measured in one run with every contender interleaved (median of ``--runs``), after reading
every file once so the series sits in the page cache:

- load to a Volume (in this process, imports done): >= 2x faster than SimpleITK's ImageSeriesReader (GDCM),
  within 3x of the dcm2niix process converting the same folder; a naive pydicom loop is reported;
- peak extra memory while loading <= 1.3x the volume's bytes, measured in a fresh process as the peak
  resident size (VmHWM) minus the resident size after the imports (VmRSS), and as tracemalloc's peak;
- time to the first displayable slice (the middle one: scan the folder, read that slice) < 0.2 s;
- whole process, ``medstation convert FOLDER out.nii`` >= 1.5x faster than a Python script doing the same
  with SimpleITK; a bare pydicom + nibabel script and dcm2niix are reported. The Python processes run with
  bytecode caching on (as installed packages have it), even where the environment turns it off, and every
  run writes a new file (the previous outputs are removed, untimed). ``medstation convert`` asks OpenBLAS for
  one thread; the SimpleITK script is also reported run with OPENBLAS_NUM_THREADS=1, for comparison.

    python benchmarks/io_load.py [--folder FOLDER] [--runs N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FOLDER = ROOT / ".." / "shared" / "data" / "dicom" / "dcm_qa_ct" / "In" / "Philips_head_1mm"

SIMPLEITK_CONVERT = """\
import sys
import SimpleITK as sitk
reader = sitk.ImageSeriesReader()
reader.SetFileNames(reader.GetGDCMSeriesFileNames(sys.argv[1]))
sitk.WriteImage(reader.Execute(), sys.argv[2])
"""

PYDICOM_NIBABEL_CONVERT = """\
import os, sys
import nibabel, numpy as np, pydicom
folder = sys.argv[1]
slices = [pydicom.dcmread(os.path.join(folder, name)) for name in sorted(os.listdir(folder))]
slices = [s for s in slices if "PixelData" in s]
orientation = np.array(slices[0].ImageOrientationPatient, float)
row, column = orientation[:3], orientation[3:]
normal = np.cross(row, column)
slices.sort(key=lambda s: float(np.dot(normal, np.array(s.ImagePositionPatient, float))))
volume = np.stack([s.pixel_array for s in slices]).astype(np.int16) + np.int16(slices[0].RescaleIntercept)
first, last = (np.array(s.ImagePositionPatient, float) for s in (slices[0], slices[-1]))
affine = np.eye(4)
affine[:3, 0] = row * float(slices[0].PixelSpacing[1])
affine[:3, 1] = column * float(slices[0].PixelSpacing[0])
affine[:3, 2] = (last - first) / (len(slices) - 1)
affine[:3, 3] = first
nibabel.save(nibabel.Nifti1Image(volume.transpose(2, 1, 0), np.diag([-1, -1, 1, 1]) @ affine), sys.argv[2])
"""

MEMORY_PROBE = """\
import json, sys, tracemalloc
def status(key):
    with open("/proc/self/status") as file:
        return next(int(line.split()[1]) * 1024 for line in file if line.startswith(key + ":"))
mode, reader, folder = sys.argv[1:4]
if reader == "medstation":
    from medstation.io.dicom.series import load_dicom
    load = lambda: load_dicom(folder).array
    size = lambda array: array.nbytes
else:
    import SimpleITK as sitk
    def load():
        series = sitk.ImageSeriesReader()
        series.SetFileNames(series.GetGDCMSeriesFileNames(folder))
        return series.Execute()
    size = lambda image: image.GetNumberOfPixels() * image.GetSizeOfPixelComponent()
if mode == "tracemalloc":
    tracemalloc.start()
before = status("VmRSS")
loaded = load()
peak = tracemalloc.get_traced_memory()[1] if mode == "tracemalloc" else status("VmHWM") - before
print(json.dumps({"peak_extra": peak, "volume_bytes": size(loaded)}))
"""


def _median_times(
    contenders: dict[str, Callable[[], object]], runs: int, before: Callable[[], None] = lambda: None
) -> dict[str, float]:
    """Median seconds of each contender after one untimed run, the runs interleaved so load changes hit all alike.

    ``before`` runs, untimed, before every run (e.g. to remove the previous output).
    """
    for run in contenders.values():
        before()
        run()
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(runs):
        for name, run in contenders.items():
            before()
            started = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}


def _process(command: list[str], environment: dict[str, str] | None = None) -> Callable[[], None]:
    return lambda: subprocess.run(command, check=True, capture_output=True, cwd=ROOT, env=environment)


def _compiled_environment(work: Path) -> dict[str, str]:
    """This environment, with bytecode written (to a cache under ``work``) and reused, as installed code has it."""
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    environment["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    return environment


def _empty(folder: Path) -> None:
    """Remove what the last run wrote, so every run writes new files (not over old ones)."""
    for path in folder.iterdir():
        path.unlink()


def _warm_page_cache(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            path.read_bytes()


def _dcm2niix() -> str:
    found = shutil.which("dcm2niix", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    if found is None:
        raise SystemExit("dcm2niix not found (pip install dcm2niix)")
    return found


def _in_process_contenders(folder: Path, work: Path) -> dict[str, Callable[[], object]]:
    import pydicom
    import SimpleITK as sitk

    from medstation.io.dicom.series import load_dicom

    def simpleitk_load():
        reader = sitk.ImageSeriesReader()
        reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder)))
        return reader.Execute()

    def pydicom_naive():
        slices = [pydicom.dcmread(path) for path in sorted(folder.iterdir())]
        slices = sorted((s for s in slices if "PixelData" in s), key=lambda s: float(s.ImagePositionPatient[2]))
        return np.stack([s.pixel_array * float(s.RescaleSlope) + float(s.RescaleIntercept) for s in slices])

    out = work / "dcm2niix"
    out.mkdir()
    return {
        "medstation": lambda: load_dicom(folder),
        "simpleitk": simpleitk_load,
        "pydicom_naive": pydicom_naive,
        "dcm2niix_process": _process([_dcm2niix(), "-p", "n", "-z", "n", "-f", "ct", "-o", str(out), str(folder)]),
    }


def _first_slice_contender(folder: Path) -> dict[str, Callable[[], object]]:
    from medstation.io.dicom.preview import load_slice
    from medstation.io.dicom.series import largest_series, scan_dicom

    return {"first_slice": lambda: load_slice(largest_series(scan_dicom(folder)))}


def _process_contenders(folder: Path, work: Path) -> dict[str, Callable[[], object]]:
    scripts = {"simpleitk_script": SIMPLEITK_CONVERT, "pydicom_nibabel_script": PYDICOM_NIBABEL_CONVERT}
    for name, text in scripts.items():
        (work / f"{name}.py").write_text(text)
    out = work / "process"
    out.mkdir()
    compiled = _compiled_environment(work)
    return {
        "medstation_convert": _process([sys.executable, "-m", "medstation", "convert", str(folder),
                                        str(out / "medstation.nii")], compiled),
        "simpleitk_script": _process([sys.executable, str(work / "simpleitk_script.py"), str(folder),
                                      str(out / "simpleitk.nii")], compiled),
        "simpleitk_script_one_blas_thread": _process(
            [sys.executable, str(work / "simpleitk_script.py"), str(folder), str(out / "simpleitk.nii")],
            {**compiled, "OPENBLAS_NUM_THREADS": "1"},
        ),
        "pydicom_nibabel_script": _process([sys.executable, str(work / "pydicom_nibabel_script.py"), str(folder),
                                            str(out / "pydicom.nii")], compiled),
        "dcm2niix_process": _process([_dcm2niix(), "-p", "n", "-z", "n", "-f", "ct", "-o", str(out), str(folder)]),
    }


def _memory(folder: Path, runs: int) -> dict[str, dict[str, float]]:
    """Median peak extra bytes while loading, per reader and method, in fresh processes."""
    results: dict[str, dict[str, float]] = {}
    for reader in ("medstation", "simpleitk"):
        for mode in ("rss", "tracemalloc"):
            if reader == "simpleitk" and mode == "tracemalloc":
                continue  # SimpleITK allocates in C++, out of tracemalloc's sight
            probes = [
                json.loads(subprocess.run([sys.executable, "-c", MEMORY_PROBE, mode, reader, str(folder)],
                                          check=True, capture_output=True, text=True, cwd=ROOT).stdout)
                for _ in range(runs)
            ]
            peak = statistics.median(probe["peak_extra"] for probe in probes)
            volume_bytes = probes[0]["volume_bytes"]
            results[f"{reader}_{mode}"] = {"peak_extra_mb": peak / 2**20, "volume_mb": volume_bytes / 2**20,
                                           "ratio": peak / volume_bytes}
    return results


def measure(folder: Path, runs: int) -> dict:
    """Every figure of the benchmark, in seconds, MiB and ratios."""
    _warm_page_cache(folder)
    with tempfile.TemporaryDirectory(prefix="medstation-io-bench-") as work:
        work = Path(work)
        loads = _median_times(_in_process_contenders(folder, work), runs, before=lambda: _empty(work / "dcm2niix"))
        first = _median_times(_first_slice_contender(folder), runs)
        processes = _median_times(_process_contenders(folder, work), runs, before=lambda: _empty(work / "process"))
    memory = _memory(folder, max(3, runs // 2))
    ours, process_ours = loads["medstation"], processes["medstation_convert"]
    return {
        "folder": str(folder.resolve()),
        "runs": runs,
        "load_s": loads,
        "first_slice_s": first["first_slice"],
        "process_s": processes,
        "memory": memory,
        "goals": {
            "load: simpleitk / medstation >= 2": loads["simpleitk"] / ours,
            "load: medstation / dcm2niix process <= 3": ours / loads["dcm2niix_process"],
            "load: pydicom naive / medstation (report)": loads["pydicom_naive"] / ours,
            "memory: peak extra (RSS) / volume bytes <= 1.3": memory["medstation_rss"]["ratio"],
            "memory: peak extra (tracemalloc) / volume bytes <= 1.3": memory["medstation_tracemalloc"]["ratio"],
            "first slice seconds < 0.2": first["first_slice"],
            "process: simpleitk script / medstation convert >= 1.5": processes["simpleitk_script"] / process_ours,
            "process: simpleitk script with one BLAS thread / medstation convert (report)":
                processes["simpleitk_script_one_blas_thread"] / process_ours,
            "process: pydicom+nibabel script / medstation convert (report)":
                processes["pydicom_nibabel_script"] / process_ours,
            "process: medstation convert / dcm2niix (report)": process_ours / processes["dcm2niix_process"],
        },
    }


def _print(results: dict) -> None:
    print(f"{results['folder']}  (median of {results['runs']} interleaved runs)")
    print("load to memory, in process:")
    for name, seconds in results["load_s"].items():
        print(f"  {name:<24} {seconds:7.3f} s")
    print(f"first slice (scan + middle slice): {results['first_slice_s']:.3f} s")
    print("whole process, folder to .nii:")
    for name, seconds in results["process_s"].items():
        print(f"  {name:<34} {seconds:7.3f} s")
    print("peak extra memory while loading:")
    for name, figures in results["memory"].items():
        print(f"  {name:<24} {figures['peak_extra_mb']:7.1f} MiB = {figures['ratio']:.2f} x the "
              f"{figures['volume_mb']:.1f} MiB volume")
    print("goals:")
    for name, value in results["goals"].items():
        print(f"  {name:<78} {value:6.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=DEFAULT_FOLDER)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not args.folder.is_dir():
        print(f"benchmark series not found at {args.folder} (see docs/data.md)", file=sys.stderr)
        return 1
    results = measure(args.folder, args.runs)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        _print(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
