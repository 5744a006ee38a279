"""``medstation train classifier``, ``evaluate classifier`` and ``classify``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from medstation.cli_progress import ProgressBar
from medstation.commands.labelled_images import (
    add_column_options,
    add_labelled_images_options,
    data_description,
    label_names,
)
from medstation.commands.output import (
    print_json,
    print_warning,
    refuse_writing_into_source,
    skipped_entries,
    training_command,
)
from medstation.commands.recipe_options import recipe_from_args
from medstation.engine.families import FAMILIES
from medstation.errors import MedStationError, UnreadableInput, reason_without_path

CLASSIFIER = FAMILIES["classifier"]


def run_train(args: argparse.Namespace) -> int:
    if not args.data or not args.out:
        raise UnreadableInput("train classifier needs --data (an .npz or a folder with labels.csv) and --out")
    from dataclasses import replace

    from medstation.engine.classifier import load_labelled_images, train_classifier

    recipe = recipe_from_args(CLASSIFIER.recipe_class(), args)
    size = recipe.spatial_size
    with ProgressBar(args.progress) as bar:
        data = load_labelled_images(args.data, label_names(args), recipe.seed, size, lambda f, m: bar(0.05 * f, m),
                                    path_column=args.path_column, label_column=args.label_column or "label")
        if size is not None and len(size) == 1:
            recipe = replace(recipe, spatial_size=size * data.spatial_dims)
        bundle = train_classifier(
            data,
            args.out,
            recipe,
            command=training_command(args),
            overwrite=args.overwrite,
            data_description=data_description(args),
            progress=lambda f, m: bar(0.05 + 0.95 * f, m),
        )
    metrics = bundle.metadata.metrics
    training = bundle.metadata.document["training"]
    if training.get("still_improving"):
        print_warning(f"{bundle.root}: the validation AUC was still rising when the budget of {training['budget']} "
                      "steps ran out; a larger --steps may give a better model")
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
    from medstation.engine.classifier import evaluate_classifier, load_classifier, load_labelled_images

    classifier = load_classifier(args.model)
    plots = Path(args.plots) if args.plots else None
    columns = classifier.bundle.metadata.document.get("training_data", {}).get("columns", {})
    with ProgressBar(args.progress) as bar:
        data = load_labelled_images(args.data, progress=lambda f, m: bar(0.3 * f, m),
                                    path_column=args.path_column or columns.get("path"),
                                    label_column=args.label_column or columns.get("label", "label"))
        document = evaluate_classifier(
            classifier, data, args.split, args.subgroup, plots, args.occlusion_check,
            progress=lambda f, m: bar(0.3 + 0.7 * f, m),
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
    from medstation.engine.saliency import explain_with_bundle
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
    if args.sr is not None or args.report is not None:
        from medstation.commands.reading_outputs import check_reading_outputs

        check_reading_outputs(args)
    from medstation.engine.classifier import load_classifier, prepare_batch
    from medstation.io.images import image_files_in

    path = Path(args.path)
    if not path.exists():
        raise UnreadableInput(f"{path}: no such file or folder")
    classifier = load_classifier(args.model or CLASSIFIER.shipped)
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
    combined = classifier.combined(probabilities)
    results = [
        {
            "path": str(file),
            "probabilities": dict(zip(classifier.labels, map(float, row), strict=True)),
            **({"combined": {name: float(values[index]) for name, values in combined.items()}} if combined else {}),
            "prediction": label,
        }
        for index, (file, row, label) in enumerate(zip(read, probabilities, classifier.decide(probabilities),
                                                       strict=True))
    ]
    if args.saliency is not None:
        out_dir = Path(args.out)
        _make_maps_folder(out_dir)
        for result in results:
            result["saliency"] = _write_saliency(classifier, Path(result["path"]), args.saliency, out_dir)
    skipped_list = skipped_entries(skipped)
    if args.sr is not None or args.report is not None:
        from medstation.commands.reading_outputs import write_reading_outputs

        for written in write_reading_outputs(args, classifier, results):
            print(f"wrote {written}", file=sys.stderr)
    if args.json:
        print_json({"model": classifier.name, "results": results, "skipped": skipped_list})
        return 0
    for result in results:
        shown = ", ".join(f"{label} {p:.3f}" for label, p in {**result["probabilities"],
                                                              **result.get("combined", {})}.items())
        print(f"{result['path']}: {result['prediction']}  ({shown})")
    return 0


def add_train_options(parser: argparse.ArgumentParser) -> None:
    """Options of ``medstation train classifier`` beyond --data, --out and the recipe's settings."""
    add_labelled_images_options(parser)


def add_evaluate_options(parser: argparse.ArgumentParser) -> None:
    """Options of ``medstation evaluate classifier`` beyond --model, --data and --json."""
    parser.add_argument("--split", default="test", choices=["train", "val", "test"])
    parser.add_argument("--subgroup", metavar="COLUMN", help="report metrics per value of this attribute")
    parser.add_argument("--plots", metavar="DIR", help="also draw the ROC and reliability curves as PNGs in DIR")
    parser.add_argument("--occlusion-check", action="store_true",
                        help="also measure the AUC with the image's border and corners hidden (shortcut check)")
    add_column_options(parser, "default: those the model was trained with")

