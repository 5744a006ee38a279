"""``medstation train generator``, ``evaluate generator`` and ``generate``."""

from __future__ import annotations

import argparse
from pathlib import Path

from medstation.cli_progress import ProgressBar
from medstation.commands.labelled_images import (
    add_column_options,
    add_labelled_images_options,
    data_description,
    label_names,
)
from medstation.commands.output import print_json, training_command
from medstation.commands.recipe_options import add_launcher_options, launch_workers, recipe_from_args
from medstation.engine.families import FAMILIES
from medstation.errors import UnreadableInput

GENERATOR = FAMILIES["generator"]
FEATURE_CLASSIFIER = FAMILIES["classifier"].shipped


def _set_threads(threads: int | None) -> None:
    if threads is None:
        return
    if threads < 1:
        raise UnreadableInput(f"--threads must be at least 1, got {threads}")
    from medstation.engine.runtime import configure_threads, load_torch

    configure_threads()
    load_torch().set_num_threads(threads)


def run_train(args: argparse.Namespace) -> int:
    if not args.data or not args.out:
        raise UnreadableInput("train generator needs --data (an .npz or a folder with labels.csv) and --out")
    recipe = recipe_from_args(GENERATOR.recipe_class(), args)
    checkpoint = Path(args.checkpoint) if args.checkpoint else Path(f"{args.out}.checkpoint.pt")
    if Path(args.out).exists() and not args.overwrite:
        raise UnreadableInput(f"{args.out}: already exists; choose another output folder or allow overwriting a "
                              "bundle (--overwrite)")
    if launch_workers(args, f"no bundle was written; --resume continues from {checkpoint}, the last epoch's "
                            "checkpoint, on any number of workers"):
        return 0
    from medstation.engine.runtime import process_group, select_device

    _set_threads(args.threads)  # in a torchrun worker too: torchrun gives each one thread otherwise
    with process_group(cuda=select_device().startswith("cuda")) as workers:
        return _train(args, recipe, checkpoint, workers)


def _train(args: argparse.Namespace, recipe, checkpoint: Path, workers) -> int:
    """Train (every torchrun worker), then print the result (rank 0, which wrote the bundle)."""
    import io

    from medstation.engine.classifier import load_labelled_images
    from medstation.engine.generator import train_generator

    with ProgressBar(args.progress and workers.leader, None if workers.leader else io.StringIO()) as bar:
        data = load_labelled_images(args.data, label_names(args), recipe.seed, None, lambda f, m: bar(0.02 * f, m),
                                    path_column=args.path_column, label_column=args.label_column or "label")
        bundle = train_generator(
            data,
            args.out,
            recipe,
            checkpoint=checkpoint,
            resume=args.resume,
            command=training_command(args),
            overwrite=args.overwrite,
            data_description=data_description(args),
            feature_classifier=None if args.no_evaluation else args.feature_model or FEATURE_CLASSIFIER,
            progress=lambda f, m: bar(0.02 + 0.98 * f, m),
        )
    if bundle is None:  # a worker other than rank 0
        return 0
    document = {"model": str(bundle.root), "metrics": bundle.metadata.metrics,
                "training": bundle.metadata.document["training"], "checkpoint": str(checkpoint)}
    if args.json:
        print_json(document)
        return 0
    print(f"wrote {bundle.root} (checkpoint {checkpoint})")
    for split, values in bundle.metadata.metrics.items():
        print(f"  {split}: " + ", ".join(f"{name} {value:.4f}" for name, value in values.items()))
    return 0


def _format_evaluation(document: dict) -> str:
    metrics, references, memorised = document["metrics"], document["references"], document["metrics"][
        "memorisation"]
    counts = ", ".join(f"{count} {label}" for label, count in document["class_counts"].items())
    lines = [
        f"{document['model']} on {document['data']} ({document['split']} split, n={document['n']}: {counts})",
        f"  features: {document['feature_network']}",
        f"  Fréchet distance     {metrics['fd']:.3f}",
        f"    floor (real train vs real {document['split']})  {references['floor']:.3f}",
        f"    blurred real (3x3 box)                {references['blurred_real']:.3f}",
        f"    baseline (class mean plus noise)      {references['baseline']:.3f}",
        f"  precision {metrics['precision']:.3f}  recall {metrics['recall']:.3f} (k-NN manifolds)",
        f"  conditional accuracy {metrics['conditional_accuracy']:.3f} "
        f"(mean confidence {metrics['mean_conditional_confidence']:.3f}; real {document['split']} images "
        f"{metrics['real_conditional_accuracy']:.3f})",
        f"  nearest training image, 5th percentile: samples {memorised['sample_p5']:.3f}, "
        f"real {memorised['real_p5']:.3f}",
        "  goals:",
    ]
    lines += [f"    {name}: {'met' if met else 'NOT met'}" for name, met in document["goals"].items()]
    return "\n".join(lines)


def run_evaluate(args: argparse.Namespace) -> int:
    from medstation.engine.classifier import load_labelled_images
    from medstation.engine.generator import evaluate_generator, load_feature_network, load_generator

    generator = load_generator(args.model)
    features = load_feature_network(args.feature_model)
    with ProgressBar(args.progress) as bar:
        path = Path(args.data)
        names = generator.labels if path.suffix.lower() == ".npz" else None
        data = load_labelled_images(path, names, progress=lambda f, m: bar(0.1 * f, m), path_column=args.path_column,
                                    label_column=args.label_column or "label")
        document = evaluate_generator(generator, data, features, args.split, args.seed,
                                      progress=lambda f, m: bar(0.1 + 0.9 * f, m))
    if args.json:
        print_json(document)
    else:
        print(_format_evaluation(document))
    return 0


def run_generate(args: argparse.Namespace) -> int:
    from medstation.engine.generator import load_generator
    from medstation.io.synthetic.writers import write_synthetic

    generator = load_generator(args.model)
    batch = generator.sample(args.n, args.label, args.seed)
    paths = write_synthetic(batch.images, batch.labels, Path(args.out), args.format, model=batch.model,
                            seed=batch.seed)
    if args.json:
        print_json({"model": batch.model, "seed": batch.seed, "format": args.format,
                    "images": [{"path": str(path), "label": label} for path, label in zip(paths, batch.labels,
                                                                                          strict=True)]})
        return 0
    print(f"wrote {len(paths)} synthetic images from {batch.model} (seed {batch.seed}) to {args.out}")
    return 0


def add_train_options(parser: argparse.ArgumentParser) -> None:
    """Options of ``medstation train generator`` beyond --data, --out and the recipe's settings."""
    add_labelled_images_options(parser)
    parser.add_argument("--checkpoint", metavar="FILE",
                        help="checkpoint written every epoch (default: OUT.checkpoint.pt)")
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoint")
    parser.add_argument("--threads", type=int, help="CPU threads for training (default: all cores)")
    parser.add_argument("--feature-model", metavar="NAME|DIR",
                        help=f"classifier whose features measure the test split (default {FEATURE_CLASSIFIER})")
    parser.add_argument("--no-evaluation", action="store_true", help="skip measuring the test split for the card")
    add_launcher_options(parser)


def add_evaluate_options(parser: argparse.ArgumentParser) -> None:
    """Options of ``medstation evaluate generator`` beyond --model, --data and --json."""
    parser.add_argument("--split", default="test", choices=["val", "test"])
    parser.add_argument("--seed", type=int, default=0, help="seed of the samples and reference draws (default 0)")
    add_column_options(parser, "default: path, else file; label")
    parser.add_argument("--feature-model", default=FEATURE_CLASSIFIER, metavar="NAME|DIR",
                        help=f"classifier whose penultimate features the distances use (default {FEATURE_CLASSIFIER})")
