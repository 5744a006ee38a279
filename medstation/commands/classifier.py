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
from medstation.commands.recipe_options import add_launcher_options, launch_workers, recipe_from_args
from medstation.engine.families import FAMILIES
from medstation.errors import MedStationError, UnreadableInput

CLASSIFIER = FAMILIES["classifier"]


def run_train(args: argparse.Namespace) -> int:
    if not args.data or not args.out:
        raise UnreadableInput("train classifier needs --data (an .npz or a folder with labels.csv) and --out")
    recipe = recipe_from_args(CLASSIFIER.recipe_class(), args)
    if Path(args.out).exists() and not args.overwrite:
        raise UnreadableInput(f"{args.out}: already exists; choose another --out or pass --overwrite")
    resumable = f"; --resume continues from {args.checkpoint}, the last scoring's checkpoint, on any number of workers"
    if args.resume and not args.checkpoint:
        raise UnreadableInput("--resume continues from the checkpoint of --checkpoint FILE; give it")
    if launch_workers(args, "no bundle was written" + (resumable if args.checkpoint else "")):
        return 0
    from medstation.engine.runtime import process_group, select_device

    with process_group(cuda=select_device().startswith("cuda")) as workers:
        return _train(args, recipe, workers)


def _train(args: argparse.Namespace, recipe, workers) -> int:
    """Train (every torchrun worker), then print the result (rank 0, which wrote the bundle)."""
    import io
    from dataclasses import replace

    from medstation.engine.classifier import load_labelled_images, train_classifier

    size = recipe.spatial_size
    with ProgressBar(args.progress and workers.leader, None if workers.leader else io.StringIO()) as bar:
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
            checkpoint=args.checkpoint,
            resume=args.resume,
        )
    if bundle is None:  # a worker other than rank 0
        return 0
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


def _classify_inputs(args: argparse.Namespace) -> tuple[list[Path], str]:
    """The image files to classify (PATH's, or the study database's selected by the query options) and the input
    in words, as a results file's job records it."""
    from medstation.engine.classifier.cohort import database_images, describe_query
    from medstation.io.images import image_files_in

    query = (args.modality, args.since, args.until)
    if args.database:
        if args.path is not None:
            raise MedStationError(f"{args.path}: give PATH or --database, not both")
        paths = database_images(*query)
        if not paths:
            raise MedStationError(f"the study database holds no {describe_query(*query)}; import them first "
                                  "(medstation import FOLDER) or widen the query")
        return paths, f"database: {describe_query(*query)}"
    if any(query):
        raise MedStationError("--modality, --since and --until select from the study database; add --database")
    if args.path is None:
        raise MedStationError("give an image, a folder of images, or --database")
    path = Path(args.path)
    if not path.exists():
        raise UnreadableInput(f"{path}: no such file or folder")
    return (image_files_in(path) if path.is_dir() else [path]), str(path.resolve())


def _results_job(args: argparse.Namespace, classifier, source: str, chunk: int) -> dict:
    """What a resumed --results must have been started with: the same weights, input and chunks."""
    return {"model": classifier.name, "weights_sha256": classifier.bundle.metadata.document["weights"]["sha256"],
            "input": source, "chunk": chunk}


def _check_classify_options(args: argparse.Namespace) -> None:
    if args.saliency is not None and args.out is None:
        raise MedStationError("--saliency needs --out DIR for the maps")
    if args.resume and not args.results:
        raise MedStationError("--resume continues the results file of --results; give --results")
    if args.chunk is not None and args.chunk < 1:
        raise MedStationError(f"--chunk must be at least 1 image, not {args.chunk}")
    if args.workers is not None and args.workers < 0:
        raise MedStationError(f"--workers must be 0 or more, not {args.workers}")
    if args.results and (args.saliency or args.sr or args.report):
        raise MedStationError("--results streams rows to a file; run --saliency, --sr and --report without it")
    if args.nproc_per_node is not None and not args.results:
        raise MedStationError("--nproc-per-node shares the rows of --results between workers; give --results")
    if args.results:
        from medstation.engine.runtime import launched
        from medstation.io.batch_results import check_results_start, results_format

        results_format(args.results)
        if args.path is not None:
            refuse_writing_into_source(args.path, args.results)
        if args.nproc_per_node is not None and not launched():  # the launcher; rank 0 checks again
            check_results_start(args.results, args.resume, sharded=True)
    if args.saliency is not None:
        if args.path is not None:
            refuse_writing_into_source(args.path, args.out)
        _check_maps_folder(Path(args.out))
    if args.sr is not None or args.report is not None:
        from medstation.commands.reading_outputs import check_reading_outputs

        check_reading_outputs(args)


def run_classify(args: argparse.Namespace) -> int:
    """Classify images (docs/design.md §3 ``classify --json`` and ``--results``), in batches through
    :mod:`medstation.engine.classifier.cohort`: decoded in worker processes, the same numbers as one at a time; with
    ``--nproc-per-node`` the chunks of images are shared by torchrun workers (docs/scale-out.md)."""
    _check_classify_options(args)
    if args.results:
        from medstation.io.batch_results import partial_paths

        parts = partial_paths(args.results)[1]
        kept = f"the chunks written so far are kept in {parts}; --resume continues them, on any number of workers"
        if launch_workers(args, kept, job="classify"):
            return 0
    from medstation.engine.runtime import process_group, select_device

    with process_group(cuda=args.nproc_per_node is not None and select_device().startswith("cuda")) as workers:
        return _classify(args, workers)


def _classify(args: argparse.Namespace, workers) -> int:
    """Classify (every worker its share of the chunks), then print or write the other outputs (rank 0)."""
    import io

    from medstation.engine.classifier import load_classifier
    from medstation.engine.classifier.cohort import CHUNK, RESULT_COLUMNS, classify_files
    from medstation.engine.runtime import keep_freed_memory

    keep_freed_memory()
    paths, source = _classify_inputs(args)
    device = workers.device if workers.grouped and workers.device.startswith("cuda") else None
    classifier = load_classifier(args.model or CLASSIFIER.shipped, device)
    chunk = args.chunk or CHUNK
    skipped: list[tuple[str, str]] = []
    options = {"chunk_size": chunk, "workers": args.workers, "world": workers.on_this_machine,
               "on_skipped": lambda key, reason: skipped.append((key, reason))}
    with ProgressBar(args.progress and workers.leader, None if workers.leader else io.StringIO()) as bar:
        if args.results:
            from medstation.engine.batches import run_sharded
            from medstation.io.batch_results import chunked, open_results

            job = _results_job(args, classifier, source, chunk)
            keys = [str(path) for path in paths]
            if chunked(args.results, workers.grouped):
                def open_out(create: bool):
                    return open_results(args.results, "path", RESULT_COLUMNS, job, keys, resume=args.resume,
                                        sharded=True, create=create)

                def run(items, sink, done):
                    return classify_files(classifier, items, sink, done=done, progress=bar, chunk_size=chunk,
                                          workers=args.workers, world=workers.on_this_machine)

                summary, _ = run_sharded(paths, keys, chunk, open_out, run, workers)
                skipped = list(summary.skipped)
                if not workers.leader:
                    return 0
            else:
                with open_results(args.results, "path", RESULT_COLUMNS, job, keys, resume=args.resume) as writer:
                    summary = classify_files(classifier, paths, writer.write, done=writer.done, progress=bar,
                                             **options)
            results = None
        else:
            results = []
            summary = classify_files(classifier, paths, results.extend, progress=bar, **options)
    if summary.ran + summary.done_before == 0:
        single = args.path is not None and not Path(args.path).is_dir()
        if single and skipped:
            raise UnreadableInput(f"{args.path}: {skipped[0][1]}")
        raise UnreadableInput(f"{args.path or source}: no image that {classifier.name} can classify")
    skipped_list = skipped_entries(skipped)
    if results is None:
        written = summary.ran + summary.done_before
        if args.json:
            print_json({"model": classifier.name, "results": str(args.results), "images": written,
                        "classified_now": summary.ran, "resumed": summary.done_before, "skipped": skipped_list})
            return 0
        resumed = f", {summary.done_before} of them written before" if summary.done_before else ""
        print(f"{args.results}: {written} images classified by {classifier.name}{resumed}; "
              f"{len(skipped_list)} skipped")
        return 0
    if args.saliency is not None:
        out_dir = Path(args.out)
        _make_maps_folder(out_dir)
        for result in results:
            result["saliency"] = _write_saliency(classifier, Path(result["path"]), args.saliency, out_dir)
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


def add_classify_options(parser: argparse.ArgumentParser) -> None:
    """Options of ``medstation classify`` beyond --json and --progress."""
    parser.add_argument("path", nargs="?", help="an image or a folder of images (or --database)")
    parser.add_argument("--model", metavar="NAME|DIR")
    parser.add_argument("--database", action="store_true",
                        help="classify the images of the study database (medstation import) instead of PATH")
    parser.add_argument("--modality", metavar="M", help="with --database: only images of this modality (CR, DX, ...)")
    parser.add_argument("--since", metavar="YYYY-MM-DD", help="with --database: only studies dated from this day")
    parser.add_argument("--until", metavar="YYYY-MM-DD", help="with --database: only studies dated up to this day")
    parser.add_argument("--results", metavar="RESULTS",
                        help="write one row per image to RESULTS.csv, RESULTS.jsonl or RESULTS.parquet as each chunk "
                             "of images is done (RESULTS.partial or RESULTS.parts until the last), instead of "
                             "printing them")
    parser.add_argument("--resume", action="store_true",
                        help="continue the unfinished --results of the same model and input: images already "
                             "written are not classified again")
    parser.add_argument("--chunk", type=int, metavar="IMAGES",
                        help="images per chunk: written together, and the most a killed job loses (default 256)")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="processes decoding images; on the CPU each also runs the network on one thread "
                             "(default: one per core, at most 8); on a GPU they decode while it runs (default: one "
                             "fewer than the cores, at most 4); 0 does everything in the main process")
    parser.add_argument("--saliency", metavar="METHOD")
    parser.add_argument("--out", metavar="DIR", help="the folder for the --saliency maps")
    parser.add_argument("--sr", metavar="OUT.dcm", help="also write the results as a DICOM SR (TID 1500) report")
    parser.add_argument("--report", metavar="OUT.pdf", help="also write a PDF report, one page per image")
    parser.add_argument("--force", action="store_true", help="replace an existing --sr or --report file")
    add_launcher_options(parser, "classify --results' chunks")


def add_train_options(parser: argparse.ArgumentParser) -> None:
    """Options of ``medstation train classifier`` beyond --data, --out and the recipe's settings."""
    add_labelled_images_options(parser)
    parser.add_argument("--checkpoint", metavar="FILE",
                        help="checkpoint written after every validation scoring (default: none)")
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoint of --checkpoint")
    add_launcher_options(parser)


def add_evaluate_options(parser: argparse.ArgumentParser) -> None:
    """Options of ``medstation evaluate classifier`` beyond --model, --data and --json."""
    parser.add_argument("--split", default="test", choices=["train", "val", "test"])
    parser.add_argument("--subgroup", metavar="COLUMN", help="report metrics per value of this attribute")
    parser.add_argument("--plots", metavar="DIR", help="also draw the ROC and reliability curves as PNGs in DIR")
    parser.add_argument("--occlusion-check", action="store_true",
                        help="also measure the AUC with the image's border and corners hidden (shortcut check)")
    add_column_options(parser, "default: those the model was trained with")

