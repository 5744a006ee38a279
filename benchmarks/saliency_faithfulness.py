"""How far to trust each saliency method of a classifier, measured on a held-out split.

For each method and each of ``--n`` images drawn (seeded) from the split: the deletion-curve relative score
(:func:`medstation.engine.saliency.checks.faithfulness`: 0 is no better than random maps, 1 is a probability that
collapses at once) and the model-randomisation check (:func:`randomisation_check`: the rank correlation between the
map of the trained network and of a re-initialised one; near 0 means the map depends on what was learned). Each is
reported as mean ± SD and the share of images where the map beat the random maps. The explained class is the one
the bundle calls (:mod:`medstation.engine.classifier.decision`). LIME and Kernel SHAP take ``--n-slow`` images.

    python benchmarks/saliency_faithfulness.py --model pneumonia-cxr-fullres \
        --data ../shared/data/cxr-kermany --split test [--n 60] [--n-slow 15] [--methods gradcam,...] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

from medstation.engine.classifier import load_classifier, load_labelled_images, prepare_batch
from medstation.engine.saliency import METHODS, explain, faithfulness, randomisation_check

SLOW_METHODS = ("lime", "kernel_shap")


def _summary(values: list[float]) -> dict[str, float]:
    return {"mean": statistics.fmean(values), "sd": statistics.pstdev(values), "n": len(values)}


def measure(classifier, images: np.ndarray, method: str, seed: int) -> dict:
    """Faithfulness and randomisation figures of ``method`` over prepared images ``(N, C, H, W)``."""
    relative, beats, correlations = [], [], []
    started = time.perf_counter()
    for index, image in enumerate(images):
        probabilities = classifier.probabilities(image[np.newaxis])
        target = classifier.labels.index(classifier.decide(probabilities)[0])
        saliency = explain(classifier.network, image, method, target)
        score = faithfulness(classifier.network, image, saliency, seed=seed + index)
        relative.append(score.relative)
        beats.append(score.deletion_auc < score.random_auc)
        correlations.append(randomisation_check(classifier.network, image, method, seed=seed + index).correlation)
    return {
        "relative_deletion_score": _summary(relative),
        "better_than_random_share": float(np.mean(beats)),
        "randomisation_rank_correlation": _summary(correlations),
        "seconds": time.perf_counter() - started,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--n", type=int, default=60)
    parser.add_argument("--n-slow", type=int, default=15)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    classifier = load_classifier(args.model)
    columns = classifier.bundle.metadata.document.get("training_data", {}).get("columns", {})
    data = load_labelled_images(args.data, path_column=columns.get("path"), label_column=columns.get("label", "label"))
    split = data.split(args.split)
    order = np.random.default_rng(args.seed).permutation(len(split))
    prepared = prepare_batch([classifier.image_input(image) for image in split.images[order[: args.n]]],
                             classifier.input_spec)
    results = {}
    for method in args.methods.split(","):
        count = args.n_slow if method in SLOW_METHODS else args.n
        results[method] = measure(classifier, prepared[:count], method, args.seed)
        if not args.json:
            figures = results[method]
            score, correlation = figures["relative_deletion_score"], figures["randomisation_rank_correlation"]
            print(f"{method:22s} n={score['n']:3d}  relative deletion score {score['mean']:+.3f} ± {score['sd']:.3f}"
                  f"  better than random {figures['better_than_random_share']:.0%}"
                  f"  randomisation rank correlation {correlation['mean']:+.3f} ± {correlation['sd']:.3f}"
                  f"  ({figures['seconds']:.0f} s)", flush=True)
    if args.json:
        print(json.dumps({"model": classifier.name, "data": args.data, "split": args.split, "methods": results}))


if __name__ == "__main__":
    main()
