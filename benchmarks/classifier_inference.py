"""Classifier inference throughput on CPU: MedStation's batched path against a plain PyTorch eager loop.

Issue 5's goal: batched inference at least 4x the naive loop, defined as the same network in fp32, eager,
``torch.inference_mode()``, default thread settings, one image per forward call, over the 624 PneumoniaMNIST test
images. Every variant below runs the same weights on the same prepared images; each is timed as the median of
``--runs`` full passes over the images (after one untimed warm-up pass) and reported as images per second and as a
ratio to the naive loop, with the largest logit difference from the naive loop as a check. The variants add one
change at a time:

- ``batched``: 128 images per forward call (MedStation's ``INFERENCE_BATCH``);
- ``batched_channels_last``: the same in the channels-last memory layout;
- ``batch_size_N``: other batch sizes in channels-last;
- ``threads_N``: channels-last batches with ``torch.set_num_threads(N)`` for each N up to the core count;
- ``medstation_classifier``: ``Classifier.logits``, what MedStation runs: batch normalisation folded into the
  convolutions (``torch.fx`` ``fuse``), channels-last, 128 images per call;
- ``torch_compile``: ``torch.compile`` (inductor) of the channels-last network; its compile time is reported;
- ``onnxruntime``: the network exported to ONNX and run by ONNX Runtime, where ``onnxruntime`` is installed.

With a folder of labelled images as ``--data`` (a labels CSV with a split column, such as
``../shared/data/cxr-kermany``), the split's images are read with the columns the model was trained with, and
``--command`` also times the whole ``medstation classify FOLDER --json`` process over the split's image files (a
folder of links to them), against a naive per-image script in the same run: each file opened, prepared and run
through the plain network alone, one at a time (issue 16's goal: the command within 60 s for the 651 test
radiographs, its network at least 4x the naive loop).

    python benchmarks/classifier_inference.py [--model NAME|DIR] [--data NPZ|FOLDER] [--runs N] [--skip-compile]
        [--command] [--json]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from medstation.engine.classifier.data import load_labelled_images
from medstation.engine.classifier.inputs import prepare_batch
from medstation.engine.classifier.model import load_classifier
from medstation.engine.classifier.network import INFERENCE_BATCH, build_network

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT / ".." / "shared" / "data" / "medmnist" / "pneumoniamnist.npz"
DEFAULT_MODEL = "pneumonia-cxr-resnet18"


def fresh_network(classifier):
    """The bundle's network in fp32, default memory layout, evaluation mode: the naive loop's model."""
    spec = classifier.input_spec
    network = build_network(classifier.bundle.metadata.document["network"], spec.spatial_dims, spec.channels,
                            len(classifier.labels))
    network.load_state_dict(classifier.bundle.load_state_dict())
    return network.float().eval()


def run_batches(network, images: torch.Tensor, batch_size: int, channels_last: bool) -> np.ndarray:
    outputs = []
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            chunk = images[start : start + batch_size]
            if channels_last:
                chunk = chunk.contiguous(memory_format=torch.channels_last)
            outputs.append(network(chunk))
    return torch.cat(outputs).float().numpy()


def timed(function: Callable[[], np.ndarray], runs: int) -> tuple[float, np.ndarray]:
    """Median seconds of ``runs`` calls after one warm-up call, and the warm-up's output."""
    output = function()
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), output


def onnx_runner(network, images: torch.Tensor, batch_size: int) -> Callable[[], np.ndarray] | None:
    try:
        import onnxruntime
    except ImportError:
        return None
    buffer = io.BytesIO()
    torch.onnx.export(network, images[:batch_size], buffer, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "n"}, "y": {0: "n"}})
    session = onnxruntime.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])
    array = images.numpy()

    def run() -> np.ndarray:
        return np.concatenate([session.run(None, {"x": array[s : s + batch_size]})[0]
                               for s in range(0, len(array), batch_size)])

    return run


def test_files(data: str, path_column: str | None) -> list[Path]:
    """The test split's image files of a folder's labels CSV."""
    import csv

    folder = Path(data)
    with (folder / "labels.csv").open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    column = path_column or ("path" if "path" in rows[0] else "file")
    return [folder / row[column] for row in rows if row.get("split") == "test"]


def naive_script(classifier, files: list[Path]) -> float:
    """Seconds for the plain per-image loop a user might write: open, prepare, one forward call per image."""
    from medstation.io.open_study import open_image

    network = fresh_network(classifier)
    started = time.perf_counter()
    with torch.inference_mode():
        for file in files:
            image = classifier.image_input(open_image(file).volume, str(file))
            network(torch.from_numpy(prepare_batch([image], classifier.input_spec)))
    return time.perf_counter() - started


def whole_command(classifier, data: str, path_column: str | None) -> dict:
    """``medstation classify`` over the test files (links in a temporary folder), as a process, and the naive
    script over the same files."""
    import subprocess
    import sys
    import tempfile

    files = test_files(data, path_column)
    with tempfile.TemporaryDirectory() as folder:
        for file in files:
            (Path(folder) / file.name).symlink_to(file.resolve())
        started = time.perf_counter()
        finished = subprocess.run([sys.executable, "-m", "medstation", "classify", folder, "--model",
                                   str(classifier.bundle.root), "--json"], capture_output=True, text=True, check=True)
        seconds = time.perf_counter() - started
    classified = len(json.loads(finished.stdout)["results"])
    return {"images": classified, "command_seconds": seconds, "naive_seconds": naive_script(classifier, files)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-compile", action="store_true", help="leave out torch.compile (slow to compile)")
    parser.add_argument("--command", action="store_true", help="also time the whole classify command (folders)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    default_threads = torch.get_num_threads()
    classifier = load_classifier(args.model, device="cpu")
    torch.set_num_threads(default_threads)
    columns = classifier.bundle.metadata.document.get("training_data", {}).get("columns", {})
    test = load_labelled_images(args.data, path_column=columns.get("path"),
                                label_column=columns.get("label", "label")).split("test")
    images = torch.from_numpy(prepare_batch([classifier.image_input(image) for image in test.images],
                                            classifier.input_spec))
    plain = fresh_network(classifier)
    layout_network = fresh_network(classifier).to(memory_format=torch.channels_last)

    results: dict[str, dict] = {}

    def measure(name: str, function: Callable[[], np.ndarray], **extra) -> None:
        seconds, output = timed(function, args.runs)
        results[name] = {"seconds": seconds, "images_per_second": len(images) / seconds, **extra}
        if name != "naive_loop":
            reference = results["naive_loop"]["logits"]
            results[name]["max_logit_difference"] = float(np.abs(output - reference).max())
        else:
            results[name]["logits"] = output
        print(f"  {name}: {len(images) / seconds:8.0f} images/s", flush=True)

    measure("naive_loop", lambda: run_batches(plain, images, 1, False))
    measure("batched", lambda: run_batches(plain, images, INFERENCE_BATCH, False))
    measure("batched_channels_last", lambda: run_batches(layout_network, images, INFERENCE_BATCH, True))
    for size in (32, 64, 256, len(images)):
        measure(f"batch_size_{size}", lambda size=size: run_batches(layout_network, images, size, True))
    for threads in range(1, (os.cpu_count() or 1) + 1):
        torch.set_num_threads(threads)
        measure(f"threads_{threads}", lambda: run_batches(layout_network, images, INFERENCE_BATCH, True))
    torch.set_num_threads(default_threads)
    prepared = images.numpy()
    measure("medstation_classifier", lambda: classifier.logits(prepared).astype(np.float32))
    if not args.skip_compile:
        started = time.perf_counter()
        compiled = torch.compile(layout_network)
        run_batches(compiled, images, INFERENCE_BATCH, True)
        compile_seconds = time.perf_counter() - started
        measure("torch_compile", lambda: run_batches(compiled, images, INFERENCE_BATCH, True),
                compile_seconds=compile_seconds)
    runner = onnx_runner(plain, images, INFERENCE_BATCH)
    if runner is not None:
        measure("onnxruntime", runner)

    naive = results["naive_loop"]["seconds"]
    whole = whole_command(classifier, args.data, columns.get("path")) if args.command else None
    report = {
        "model": classifier.name,
        "images": len(images),
        "default_threads": default_threads,
        "torch": torch.__version__,
        "onnxruntime": "measured" if runner is not None else "not installed",
        "variants": {
            name: {key: value for key, value in entry.items() if key != "logits"} | {"ratio": naive / entry["seconds"]}
            for name, entry in results.items()
        },
        **({"whole_command": whole} if whole else {}),
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{classifier.name}, {len(images)} images, torch {torch.__version__}, {default_threads} threads by default")
    for name, entry in report["variants"].items():
        extra = f"  (compile {entry['compile_seconds']:.1f} s)" if "compile_seconds" in entry else ""
        check = f"  max |logit diff| {entry['max_logit_difference']:.1e}" if "max_logit_difference" in entry else ""
        print(f"{name:<24} {entry['images_per_second']:8.0f} images/s  {entry['ratio']:5.2f}x{check}{extra}")
    if whole:
        print(f"medstation classify over {whole['images']} files: {whole['command_seconds']:.1f} s "
              f"(goal 60 s); naive per-image script {whole['naive_seconds']:.1f} s; "
              f"ratio {whole['naive_seconds'] / whole['command_seconds']:.2f}x")


if __name__ == "__main__":
    main()
