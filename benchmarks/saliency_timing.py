"""Milliseconds per saliency map for every method, on one image of the bundle's input size, on the CPU.

References in the same run: one plain forward pass under ``torch.inference_mode()`` (the floor any map costs)
and MONAI's own ``GradCAM`` used the plain way (hooks left on a copy of the model, a full backward pass), so the
ratios show what the engine's Grad-CAM saves. Goals: Grad-CAM under 30 ms at 28x28, under 150 ms on one thread at
224x224. The network is the shipped bundle's
when ``--model`` names one, else a freshly initialised one of the same shape (timing does not depend on the
weights). The faithfulness score (deletion curve against five random maps) is timed too.

    python benchmarks/saliency_timing.py [--model NAME|DIR] [--threads N] [--json]
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time

import numpy as np

GOAL_MS = {False: 30, True: 150}
"""Grad-CAM goals: 30 ms at 28x28 (issue 5), 150 ms at the full-resolution model's 224x224 (issue 16)."""
REPEATS = {"gradcam": 50, "gradcampp": 50, "occlusion": 5, "integrated_gradients": 10, "lime": 3, "kernel_shap": 3}


def _median_ms(run, repeats: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        run()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(1000 * (time.perf_counter() - started))
    return round(statistics.median(times), 2)


def _network(model: str | None):
    """The network, its name and its input size (the bundle's, else 28x28)."""
    if model:
        from medstation.engine.classifier.model import load_classifier

        classifier = load_classifier(model, "cpu")
        return classifier.network, model, tuple(classifier.input_spec.spatial_size)
    import torch

    from medstation.engine.classifier.network import build_network, default_network_spec

    torch.manual_seed(0)
    return build_network(default_network_spec("resnet18"), 2, 1, 2).eval(), "resnet18 3x3 stem (initialised)", (28, 28)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="bundle name or folder; default: an initialised ResNet-18")
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's own)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    import torch
    from monai.visualize import GradCAM

    from medstation.engine.saliency.checks import faithfulness
    from medstation.engine.saliency.methods import METHODS, explain

    network, name, size = _network(args.model)
    if args.threads:
        torch.set_num_threads(args.threads)
    image = np.random.default_rng(0).random(size, dtype=np.float32)
    x = torch.from_numpy(image)[None, None]
    results: dict[str, float] = {}
    with torch.inference_mode():
        results["forward_pass"] = _median_ms(lambda: network(x), 50)
    plain = GradCAM(copy.deepcopy(network).eval(), "layer4")
    results["monai_gradcam_plain"] = _median_ms(lambda: plain(x.clone().requires_grad_(True), class_idx=1), 50)
    for method in METHODS:
        results[method] = _median_ms(lambda method=method: explain(network, image, method, target=1), REPEATS[method])
    saliency = explain(network, image, "gradcam", target=1)
    results["faithfulness"] = _median_ms(lambda: faithfulness(network, image, saliency), 5)
    report = {
        "model": name,
        "threads": torch.get_num_threads(),
        "ms": results,
        "ratios": {
            "gradcam_vs_forward": round(results["gradcam"] / results["forward_pass"], 2),
            "monai_plain_vs_gradcam": round(results["monai_gradcam_plain"] / results["gradcam"], 2),
        },
        "size": list(size),
        "goal_gradcam_ms": GOAL_MS[size[0] > 28],
        "goal_gradcam_met": results["gradcam"] < GOAL_MS[size[0] > 28],
    }
    if args.json:
        print(json.dumps(report))
    else:
        print(f"model: {name}, {report['threads']} threads, median ms per map on one {size[0]}x{size[1]} image; "
              f"Grad-CAM goal {report['goal_gradcam_ms']} ms")
        for key, value in results.items():
            print(f"  {key:22s} {value:9.2f}")
        for key, value in report["ratios"].items():
            print(f"  {key:22s} {value:9.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
