"""``medstation train classifier``, ``evaluate classifier`` and ``classify``."""

from __future__ import annotations

import argparse
from pathlib import Path

from medstation.cli_progress import ProgressBar
from medstation.commands.output import print_json, refuse_writing_into_source, skipped_entries, training_command
from medstation.errors import MedStationError, UnreadableInput, reason_without_path

DEFAULT_MODEL = "pneumonia-cxr-resnet18"


def _numbers(text: str | None, what: str) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise UnreadableInput(f"{what} must be whole numbers separated by commas, got {text!r}") from None
    if not values or min(values) < 1:
        raise UnreadableInput(f"{what} must be positive, got {text!r}")
    return values


def _names(text: str | None) -> tuple[str, ...] | None:
    return None if text is None else tuple(part.strip() for part in text.split(",") if part.strip())


def _recipe(args: argparse.Namespace, spatial_dims: int):
    from dataclasses import replace

    from medstation.engine.classifier.training import TrainingRecipe

    recipe = TrainingRecipe()
    changes = {
        "architecture": args.architecture,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "patience": args.patience,
        "seed": args.seed,
        "widths": _numbers(args.widths, "--widths"),
        "modalities": _names(args.modalities),
    }
    size = _numbers(args.size, "--size")
    if size is not None:
        changes["spatial_size"] = size * spatial_dims if len(size) == 1 else size
    return replace(recipe, **{key: value for key, value in changes.items() if value is not None})


_TRAIN_OPTIONS = (
    "data", "out", "seed", "epochs", "batch_size", "learning_rate", "patience", "architecture", "widths", "size",
    "labels", "modalities", "data_name", "data_licence", "data_citation",
)


def run_train(args: argparse.Namespace) -> int:
    if not args.data or not args.out:
        raise UnreadableInput("train classifier needs --data (an .npz or a folder with labels.csv) and --out")
    from medstation.engine.classifier.data import load_labelled_images
    from medstation.engine.classifier.training import train_classifier

    seed = args.seed if args.seed is not None else 0
    size = _numbers(args.size, "--size")
    with ProgressBar(args.progress) as bar:
        data = load_labelled_images(args.data, _names(args.labels), seed, size, lambda f, m: bar(0.05 * f, m))
        recipe = _recipe(args, data.spatial_dims)
        command = training_command("classifier", args, _TRAIN_OPTIONS)
        bundle = train_classifier(
            data,
            args.out,
            recipe,
            command=command,
            overwrite=args.overwrite,
            data_description={"name": args.data_name, "licence": args.data_licence, "citation": args.data_citation},
            progress=lambda f, m: bar(0.05 + 0.95 * f, m),
        )
    metrics = bundle.metadata.metrics
    if args.json:
        print_json({"model": str(bundle.root), "metrics": metrics, "training": bundle.metadata.document["training"]})
        return 0
    print(f"wrote {bundle.root}")
    for split, values in metrics.items():
        shown = ", ".join(f"{name} {value:.4f}" for name, value in values.items() if not isinstance(value, list))
        print(f"  {split}: {shown}")
    return 0


def _format_evaluation(document: dict) -> str:
    lines = [f"{document['model']} on {document['data']} ({document['split']} split, n={document['n']}, "
             f"threshold {document['threshold']})"]
    for name, value in document["metrics"].items():
        interval = document["intervals"].get(name)
        ci = f"  95% CI {interval[0]:.4f} - {interval[1]:.4f}" if interval and None not in interval else ""
        lines.append(f"  {name:<12} {'n/a' if value is None else f'{value:.4f}'}{ci}")
    lines.append(f"  confusion matrix (rows true, columns predicted): {document['confusion_matrix']}")
    for name, baseline in document["baselines"].items():
        lines.append(f"  baseline {name}: auc {baseline['auc']}, accuracy {baseline['accuracy']:.4f}")
    for metric, gap in document.get("subgroups", {}).get("largest_gap", {}).items():
        lines.append(f"  largest {metric} gap {gap['gap']:.4f} ({gap['highest']} vs {gap['lowest']})")
    lines += [f"  {kind} plot: {path}" for kind, path in document.get("plots", {}).items()]
    return "\n".join(lines)


def run_evaluate(args: argparse.Namespace) -> int:
    from medstation.engine.classifier.data import load_labelled_images
    from medstation.engine.classifier.evaluation import evaluate_classifier
    from medstation.engine.classifier.model import load_classifier

    classifier = load_classifier(args.model)
    plots = Path(args.plots) if args.plots else None
    with ProgressBar(args.progress) as bar:
        data = load_labelled_images(args.data, progress=lambda f, m: bar(0.3 * f, m))
        document = evaluate_classifier(
            classifier, data, args.split, args.subgroup, plots, progress=lambda f, m: bar(0.3 + 0.7 * f, m)
        )
    if args.json:
        print_json(document)
    else:
        print(_format_evaluation(document))
    return 0


def _read_inputs(classifier, paths: list[Path], bar) -> tuple[list[Path], list, list[tuple[Path, str]]]:
    from medstation.io.open_study import open_image

    read, images, skipped = [], [], []
    for number, path in enumerate(paths):
        try:
            images.append(classifier.image_input(open_image(path).volume, str(path)))
            read.append(path)
        except MedStationError as error:
            skipped.append((path, reason_without_path(path, str(error))))
        bar(0.5 * (number + 1) / len(paths), f"reading {path.name}")
    return read, images, skipped


def _write_saliency(classifier, path: Path, method: str, out_dir: Path) -> dict[str, str]:
    """The map of ``path``'s predicted label as ``STEM_METHOD.npy`` (float32 [j, i]) and as a PNG over the image."""
    import numpy as np

    from medstation.core.layers import saliency_overlay
    from medstation.engine.saliency.bundle import explain_with_bundle
    from medstation.io.open_study import open_image
    from medstation.ui.viewer.render import render_png

    volume = open_image(path).volume
    explanation = explain_with_bundle(classifier, volume, method, source=str(path))
    stem = f"{path.stem}_{method}"
    values = explanation.saliency.values
    np.save(out_dir / f"{stem}.npy", values)
    layer = saliency_overlay(values[np.newaxis], f"{explanation.saliency.label}: {explanation.label}")
    png = render_png(volume, out_dir / f"{stem}.png", overlays=[layer])
    return {"method": method, "label": explanation.label, "map": str(out_dir / f"{stem}.npy"), "png": str(png)}


def _check_maps_folder(out: Path) -> None:
    """MedStationError naming ``out`` when a file stands where the folder for the maps would be."""
    existing = next(path for path in (out, *out.parents) if path.exists())
    if not existing.is_dir():
        where = "it is" if existing == out else f"{existing} is"
        raise MedStationError(f"{out}: --out must be a folder for the saliency maps, but {where} a file")


def _make_maps_folder(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise MedStationError(f"{out}: cannot create the folder for the saliency maps ({error.strerror})") from None


def run_classify(args: argparse.Namespace) -> int:
    if args.saliency is not None and args.out is None:
        raise MedStationError("--saliency needs --out DIR for the maps")
    if args.saliency is not None:
        refuse_writing_into_source(args.path, args.out)
        _check_maps_folder(Path(args.out))
    from medstation.engine.classifier.inputs import prepare_batch
    from medstation.engine.classifier.model import load_classifier
    from medstation.io.images import image_files_in

    path = Path(args.path)
    if not path.exists():
        raise UnreadableInput(f"{path}: no such file or folder")
    classifier = load_classifier(args.model or DEFAULT_MODEL)
    paths = image_files_in(path) if path.is_dir() else [path]
    with ProgressBar(args.progress) as bar:
        read, images, skipped = _read_inputs(classifier, paths, bar)
        if not images:
            if not path.is_dir() and skipped:
                raise UnreadableInput(f"{path}: {skipped[0][1]}")
            raise UnreadableInput(f"{path}: no image that {classifier.name} can classify")
        probabilities = classifier.probabilities(
            prepare_batch(images, classifier.input_spec), lambda f, m: bar(0.5 + 0.5 * f, m)
        )
    results = [
        {
            "path": str(file),
            "probabilities": dict(zip(classifier.labels, map(float, row), strict=True)),
            "prediction": label,
        }
        for file, row, label in zip(read, probabilities, classifier.decide(probabilities), strict=True)
    ]
    if args.saliency is not None:
        out_dir = Path(args.out)
        _make_maps_folder(out_dir)
        for result in results:
            result["saliency"] = _write_saliency(classifier, Path(result["path"]), args.saliency, out_dir)
    skipped_list = skipped_entries(skipped)
    if args.json:
        print_json({"model": classifier.name, "results": results, "skipped": skipped_list})
        return 0
    for result in results:
        shown = ", ".join(f"{label} {p:.3f}" for label, p in result["probabilities"].items())
        print(f"{result['path']}: {result['prediction']}  ({shown})")
    return 0


def add_train_options(parser: argparse.ArgumentParser) -> None:
    """Options of ``medstation train classifier`` beyond --data and --out; defaults are the shipped recipe."""
    parser.add_argument("--seed", type=int, help="random seed (default 0)")
    parser.add_argument("--epochs", type=int, help="most epochs to train (default: the recipe's)")
    parser.add_argument("--batch-size", type=int, help="images per optimiser step (default: the recipe's)")
    parser.add_argument("--learning-rate", type=float, help="peak of the one-cycle schedule (default: the recipe's)")
    parser.add_argument("--patience", type=int, help="stop after this many epochs without a better validation AUC")
    parser.add_argument("--architecture", choices=["resnet18", "densenet121"])
    parser.add_argument("--widths", metavar="W1,W2,W3,W4", help="ResNet-18 stage widths (default: the recipe's)")
    parser.add_argument("--size", metavar="N[,N...]", help="resize images to this size in voxels (default: as stored)")
    parser.add_argument("--labels", metavar="NAME,...", help="class names in class-index order (.npz data)")
    parser.add_argument("--modalities", metavar="CODE,...", help="DICOM modalities the model is made for, e.g. DX,CR")
    parser.add_argument("--data-name", help="data set name for the model card")
    parser.add_argument("--data-licence", help="data licence for the model card")
    parser.add_argument("--data-citation", help="data citation for the model card")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing bundle at --out")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def add_evaluate_options(parser: argparse.ArgumentParser) -> None:
    """Options of ``medstation evaluate classifier`` beyond --model, --data and --json."""
    parser.add_argument("--split", default="test", choices=["train", "val", "test"])
    parser.add_argument("--subgroup", metavar="COLUMN", help="report metrics per value of this attribute")
    parser.add_argument("--plots", metavar="DIR", help="also draw the ROC and reliability curves as PNGs in DIR")

