"""``medstation classify`` over 5,000 images: the batched command (DataLoader worker processes decoding chunks and,
on the CPU, running the network on them, one thread each) against the command as it was before it (every image read
in turn, then one batch on all cores), same run.

The 5,000 images are the 4,432 Kermany chest radiographs (224x224 JPEG, ``../shared/data/cxr-kermany/images``,
linked) and 568 PneumoniaMNIST test images written as 28x28 PNG (``../shared/data/medmnist``), in a temporary
folder. The old command runs from a ``git worktree`` of the commit before ``engine/classifier/cohort.py`` was added
(``--old-ref`` to choose another), with the same Python environment. Each variant is the whole process
(``python -m medstation classify FOLDER --model M --json``, start-up and model loading included), timed ``--runs``
times in alternation (old, new, old, new, ...), reported as images per second of the median run and as the ratio
new / old, with the CPU seconds (user + system) of each process and its workers and the load average before and
after each round; the new command's probabilities are checked against the old ones (largest difference, goal
<= 1e-5). The new command is also timed writing ``--results RESULTS.csv``.

    python benchmarks/classify_batch.py [--models pneumonia-cxr-resnet18,pneumonia-cxr-fullres] [--runs 1]
        [--images 5000] [--workers N] [--old-ref REF] [--json]
    python benchmarks/classify_batch.py --stages [--models ...]

``--stages`` measures, in one process with the checkout's code, the CPU milliseconds per image of each stage:
decoding (``open_image``), preparing a chunk (decode, resize, normalise), and the network on one and on two threads
at 32 and 128 images per forward call.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT / ".." / "shared" / "data"
MODELS = "pneumonia-cxr-resnet18,pneumonia-cxr-fullres"


def make_images(folder: Path, count: int) -> int:
    """Link the Kermany JPEGs and write PneumoniaMNIST test PNGs up to ``count`` images; returns the count."""
    from PIL import Image

    jpegs = sorted((SHARED / "cxr-kermany" / "images").iterdir())[:count]
    for path in jpegs:
        (folder / path.name).symlink_to(path.resolve())
    with np.load(SHARED / "medmnist" / "pneumoniamnist.npz") as archive:
        pictures = np.concatenate([archive["test_images"], archive["val_images"], archive["train_images"]])
    for index in range(count - len(jpegs)):
        Image.fromarray(pictures[index]).save(folder / f"mnist-{index:05d}.png")
    return len(list(folder.iterdir()))


def old_commit(ref: str | None) -> str:
    if ref:
        return ref
    added = subprocess.run(["git", "log", "--diff-filter=A", "--format=%H", "--",
                            "medstation/engine/classifier/cohort.py"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    if not added:
        raise SystemExit("engine/classifier/cohort.py is not committed; give --old-ref")
    return f"{added[-1]}^"


def timed(argv: list[str], cwd: Path, cpu: list[float] | None = None) -> tuple[float, str]:
    """Wall seconds and stdout of ``python -m medstation ARGV`` run in ``cwd``; the CPU seconds (user + system) of
    the process and its worker processes are appended to ``cpu``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "medstation", *argv], cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} in {cwd} failed:\n{done.stderr[-2000:]}")
    if cpu is not None:
        cpu.append(round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 1))
    return seconds, done.stdout


def largest_difference(old: str, new: str) -> float:
    before = {row["path"]: row["probabilities"] for row in json.loads(old)["results"]}
    after = {row["path"]: row["probabilities"] for row in json.loads(new)["results"]}
    if before.keys() != after.keys():
        raise SystemExit("the old and the new command classified different images")
    return max(abs(before[path][label] - p) for path, row in after.items() for label, p in row.items())


def _open_each(open_image, paths: list[Path]) -> None:
    for path in paths:
        open_image(path)  # each image dropped before the next, as prepare_images does


def stage_costs(models: list[str], count: int = 256) -> dict:
    """CPU milliseconds per image of each stage in this process (the best of three): decoding a Kermany JPEG and a
    28-px PNG, preparing a chunk of JPEGs for each model, and its network on one and two threads at 32 and 128
    images per forward call."""
    sys.path.insert(0, str(ROOT))
    from medstation.engine.classifier import load_classifier
    from medstation.engine.classifier.cohort import ClassifyTask, prepare_images
    from medstation.engine.runtime import load_torch
    from medstation.io.open_study import open_image

    torch = load_torch()

    def best(work, images: int) -> float:
        spent = []
        for _ in range(3):
            start = time.process_time()
            work()
            spent.append(time.process_time() - start)
        return round(1000 * min(spent) / images, 3)

    jpegs = sorted((SHARED / "cxr-kermany" / "images").iterdir())[:count]
    with tempfile.TemporaryDirectory() as temp:
        from PIL import Image

        with np.load(SHARED / "medmnist" / "pneumoniamnist.npz") as archive:
            pictures = archive["test_images"][:count]
        pngs = [Path(temp) / f"mnist-{index:05d}.png" for index in range(len(pictures))]
        for path, picture in zip(pngs, pictures, strict=True):
            Image.fromarray(picture).save(path)
        costs = {"load": round(os.getloadavg()[0], 1), "decode_jpeg": best(lambda: _open_each(open_image, jpegs),
                                                                             len(jpegs)),
                 "decode_png_28px": best(lambda: _open_each(open_image, pngs), len(pngs))}
    for model in models:
        classifier = load_classifier(model)
        network = sys.modules["medstation.engine.classifier.network"]
        costs[f"{model} prepare_jpeg"] = best(lambda c=classifier: prepare_images(jpegs, c.input_spec), len(jpegs))
        batch = torch.from_numpy(prepare_images(jpegs, classifier.input_spec)[1])
        task = ClassifyTask(classifier)
        for threads in (1, 2):
            torch.set_num_threads(threads)
            for size in (32, 128):
                network.CPU_INFERENCE_BATCH = size
                task.logits(batch[:size])
                costs[f"{model} network {threads} thread(s) {size}/forward"] = best(partial(task.logits, batch),
                                                                                    len(batch))
        network.CPU_INFERENCE_BATCH = 32
    costs["load_after"] = round(os.getloadavg()[0], 1)
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=MODELS)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--workers", type=int, help="the new command's --workers (default: its own)")
    parser.add_argument("--old-ref")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--stages", action="store_true",
                        help="instead: CPU ms per image of decoding, preparing and the network, in this process")
    args = parser.parse_args()
    if args.stages:
        print(json.dumps(stage_costs(args.models.split(",")), indent=1))
        return
    report: dict = {"cpus": os.cpu_count(), "load_before": os.getloadavg()[0], "models": {}}
    with tempfile.TemporaryDirectory() as temp:
        temp = Path(temp)
        folder = temp / "images"
        folder.mkdir()
        report["images"] = make_images(folder, args.images)
        old = temp / "old"
        commit = old_commit(args.old_ref)
        subprocess.run(["git", "worktree", "add", "--detach", str(old), commit], cwd=ROOT, check=True,
                       capture_output=True)
        report["old_commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=old, capture_output=True,
                                              text=True).stdout.strip()
        try:
            extra = [] if args.workers is None else ["--workers", str(args.workers)]
            for model in args.models.split(","):
                argv = ["classify", str(folder), "--model", model, "--json"]
                times: dict[str, list[float]] = {"old": [], "new": [], "new_results_csv": []}
                cpu: dict[str, list[float]] = {name: [] for name in times}
                loads = [round(os.getloadavg()[0], 1)]
                outputs = {}
                for run in range(args.runs):
                    seconds, outputs["old"] = timed(argv, old, cpu["old"])
                    times["old"].append(seconds)
                    seconds, outputs["new"] = timed([*argv, *extra], ROOT, cpu["new"])
                    times["new"].append(seconds)
                    results = temp / f"results-{model}-{run}.csv"
                    seconds, _ = timed(["classify", str(folder), "--model", model, "--results", str(results),
                                        *extra], ROOT, cpu["new_results_csv"])
                    times["new_results_csv"].append(seconds)
                    loads.append(round(os.getloadavg()[0], 1))
                median = {name: statistics.median(values) for name, values in times.items()}
                rates = {name: report["images"] / seconds for name, seconds in median.items()}
                report["models"][model] = {
                    "seconds": times,
                    "cpu_seconds": cpu,
                    "load_averages": loads,
                    "images_per_s": {name: round(rate, 1) for name, rate in rates.items()},
                    "ratio_new_vs_old": round(rates["new"] / rates["old"], 2),
                    "ratio_results_csv_vs_old": round(rates["new_results_csv"] / rates["old"], 2),
                    "largest_probability_difference": largest_difference(outputs["old"], outputs["new"]),
                }
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(old)], cwd=ROOT, capture_output=True)
    report["load_after"] = os.getloadavg()[0]
    if args.json:
        print(json.dumps(report, indent=1))
        return
    print(f"{report['images']} images, {report['cpus']} CPUs, old code {report['old_commit']}, load "
          f"{report['load_before']:.1f} -> {report['load_after']:.1f}")
    for model, row in report["models"].items():
        rates = row["images_per_s"]
        print(f"{model}: old {rates['old']} images/s, new {rates['new']} images/s ({row['ratio_new_vs_old']}x), "
              f"new --results {rates['new_results_csv']} images/s ({row['ratio_results_csv_vs_old']}x); largest "
              f"probability difference {row['largest_probability_difference']:.2e}")


if __name__ == "__main__":
    main()
