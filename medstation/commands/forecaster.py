"""``medstation train forecaster``, ``evaluate forecaster`` and ``forecast``."""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

from medstation.cli_progress import ProgressBar
from medstation.commands.output import print_json, refuse_writing_into_source, skipped_entry, training_command
from medstation.commands.recipe_options import add_launcher_options, launch_workers, recipe_from_args
from medstation.engine.families import FAMILIES
from medstation.errors import MedStationError, UnreadableInput

FORECASTER = FAMILIES["forecaster"]


def add_train_options(parser: argparse.ArgumentParser) -> None:
    """Options of ``medstation train forecaster`` beyond --data (record files), --out and the recipe's settings."""
    parser.add_argument("--outcomes", help="outcomes file with RecordID and In-hospital_death (the only label read)")
    parser.add_argument("--test-data", help="held-out record files to evaluate on after training (written to the card)")
    parser.add_argument("--test-outcomes", help="outcomes file of --test-data")
    parser.add_argument("--checkpoint", metavar="FILE", help="checkpoint written after every epoch (default: none)")
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoint of --checkpoint")
    add_launcher_options(parser)


def add_evaluate_options(parser: argparse.ArgumentParser) -> None:
    """Options of ``medstation evaluate forecaster`` beyond --model, --data and --json."""
    parser.add_argument("--outcomes", required=True, help="outcomes file of --data (In-hospital_death is read)")
    parser.add_argument("--train-data", help="the training records, for the baselines (default: the bundle's)")
    parser.add_argument("--train-outcomes", help="the training outcomes (default: the bundle's)")
    parser.add_argument("--record", action="store_true",
                        help="write this evaluation into the bundle's metadata and model card (weights untouched)")


def _records(path: str, outcomes: str, bar: ProgressBar, start: float, end: float):
    from medstation.io.timelines.physionet import read_outcomes
    from medstation.io.timelines.reading import load_timelines

    timelines, report = load_timelines(path, progress=lambda f, m: bar(start + (end - start) * f, m))
    labels = read_outcomes(outcomes)
    print(f"{path}: {len(timelines)} patients; {report.summary()}", file=sys.stderr)
    missing = [t.patient_id for t in timelines if t.patient_id not in labels]
    if missing:
        raise UnreadableInput(
            f"{outcomes}: no In-hospital_death for {len(missing)} of the {len(timelines)} patients in {path} (first: "
            f"{missing[0]}); give the outcomes file that belongs to these records"
        )
    return timelines, labels


def run_train(args: argparse.Namespace) -> int:
    from medstation.engine.runtime import process_group

    if not (args.data and args.outcomes and args.out):
        raise UnreadableInput("train forecaster needs --data (record files), --outcomes and --out")
    if bool(args.test_data) != bool(args.test_outcomes):
        raise UnreadableInput("--test-data and --test-outcomes go together")
    recipe = recipe_from_args(FORECASTER.recipe_class(), args)
    if Path(args.out).exists() and not args.overwrite:
        raise UnreadableInput(f"{args.out}: already exists; choose another --out or pass --overwrite")
    if args.resume and not args.checkpoint:
        raise UnreadableInput("--resume continues from the checkpoint of --checkpoint FILE; give it")
    resumable = f"; --resume continues from {args.checkpoint}, the last epoch's checkpoint, on any number of workers"
    if launch_workers(args, "nothing was written" + (resumable if args.checkpoint else "")):
        return 0
    with process_group() as workers:
        if recipe.batch_size % workers.world:
            raise UnreadableInput(f"the batch of {recipe.batch_size} patients cannot be shared equally by "
                                  f"{workers.world} workers; choose a number of workers that divides it")
        return _train(args, recipe, workers)


def _train(args: argparse.Namespace, recipe, workers) -> int:
    """Train (every worker), then write the bundle and print (rank 0), the others waiting until it is written."""
    from medstation.engine.forecaster import (
        forecaster_from_trained,
        forecaster_metadata,
        record_evaluation,
        train_forecaster,
        write_forecaster_bundle,
    )
    from medstation.engine.runtime import barrier

    started = time.monotonic()
    quiet = None if workers.leader else io.StringIO()
    with ProgressBar(args.progress and workers.leader, quiet) as bar:
        timelines, labels = _records(args.data, args.outcomes, bar, 0.0, 0.05)
        trained = train_forecaster(timelines, labels, recipe, progress=lambda f, m: bar(0.05 + 0.85 * f, m),
                                   checkpoint=args.checkpoint, resume=args.resume)
        seconds = time.monotonic() - started
        if not workers.leader:
            barrier(workers)
            return 0
        command = training_command(args)
        metadata = forecaster_metadata(trained, args.data, len(timelines), command, seconds, outcomes=args.outcomes)
        bundle = write_forecaster_bundle(args.out, trained, metadata, overwrite=args.overwrite)
        if args.test_data:
            from medstation.engine.forecaster import evaluate_forecaster

            test, test_labels = _records(args.test_data, args.test_outcomes, bar, 0.9, 0.92)
            evaluation = evaluate_forecaster(forecaster_from_trained(trained, bundle.name), timelines, labels, test,
                                             test_labels, progress=lambda f, m: bar(0.92 + 0.08 * f, m))
            evaluation = {"model": bundle.name, "data": args.test_data, "train_data": args.data, **evaluation}
            bundle = record_evaluation(bundle, evaluation)
        barrier(workers)
    metadata = bundle.metadata.document
    if args.json:
        print_json({"model": str(bundle.root), "metrics": metadata["metrics"], "training": metadata["training"]})
    else:
        print(f"wrote {bundle.root} in {seconds / 60:.1f} min")
        for split, values in metadata["metrics"].items():
            print(f"  {split}: " + ", ".join(f"{k} {v:.4f}" for k, v in values.items()))
    return 0


def _training_source(args: argparse.Namespace, training: dict) -> tuple[str, str]:
    data = args.train_data or training.get("data_source")
    outcomes = args.train_outcomes or training.get("outcomes")
    for path, option in ((data, "--train-data"), (outcomes, "--train-outcomes")):
        if not path or not Path(path).exists():
            raise UnreadableInput(
                f"the baselines are trained on the model's training data, which is not at {path!r}; pass {option}"
            )
    return data, outcomes


def _format_evaluation(document: dict) -> str:
    from medstation.engine.forecaster import figure

    m, baselines = document["metrics"], document["baselines"]
    gbm = baselines.get("gbm", {})
    lines = [
        f"{document['model']} on {document['data']} ({document['split']})",
        f"  mortality at hour 48: AUROC {figure(m['mortality_auroc'], 4)} "
        f"(gradient boosting {figure(gbm.get('mortality_auroc'), 4)}), AUPRC {figure(m['mortality_auprc'], 4)} "
        f"(gradient boosting {figure(gbm.get('mortality_auprc'), 4)}), ECE {figure(m['ece'], 4)}",
        f"  MAE at 6 h, mean over variables (standardised): model {figure(m['mae']['mean']['6'], 4)}"
        + "".join(f", {name} {figure(b['mae']['mean']['6'], 4)}" for name, b in baselines.items() if "mae" in b),
        f"  80% interval coverage: {figure(m['coverage80']['mean'], 4)}",
    ]
    for goal, met in document.get("goals", {}).items():
        lines.append(f"  goal {goal}: {'met' if met else 'NOT met'}")
    return "\n".join(lines)


def run_evaluate(args: argparse.Namespace) -> int:
    from medstation.engine.forecaster import evaluate_forecaster, load_forecaster

    model = load_forecaster(args.model)
    training = model.metadata.get("training", {})
    training = {**training, "data_source": model.metadata.get("training_data", {}).get("source")}
    train_data, train_outcomes = _training_source(args, training)
    with ProgressBar(args.progress) as bar:
        train, train_labels = _records(train_data, train_outcomes, bar, 0.0, 0.1)
        test, test_labels = _records(args.data, args.outcomes, bar, 0.1, 0.2)
        document = evaluate_forecaster(model, train, train_labels, test, test_labels,
                                       progress=lambda f, m: bar(0.2 + 0.8 * f, m))
    document = {"model": model.name, "data": args.data, "train_data": train_data, **document}
    if args.record:
        from medstation.engine.bundles import find_bundle
        from medstation.engine.forecaster import record_evaluation

        record_evaluation(find_bundle(str(args.model)), document)
    if args.json:
        print_json(document)
    else:
        print(_format_evaluation(document))
    return 0


RESULT_COLUMNS = ("id", "last_hour", "risk", "forecast", "contributors")
"""The columns of a ``forecast --out`` CSV: a patient object of ``forecast --json``, lists and objects as JSON."""


def add_forecast_options(parser: argparse.ArgumentParser) -> None:
    """Options of ``medstation forecast`` beyond PATH, --json and --progress."""
    parser.add_argument("--model", metavar="NAME|DIR")
    parser.add_argument("--patient", metavar="ID", help="forecast only this patient of PATH")
    parser.add_argument("--out", metavar="RESULTS",
                        help="write one row per patient to RESULTS.csv, RESULTS.jsonl or RESULTS.parquet as each "
                             "chunk of patients is done (RESULTS.partial or RESULTS.parts until the last), instead of "
                             "printing them")
    parser.add_argument("--resume", action="store_true",
                        help="continue the unfinished --out of the same model, input and options: patients already "
                             "written are not forecast again")
    parser.add_argument("--chunk", type=int, metavar="PATIENTS",
                        help="patients per chunk: written together, and the most a killed job loses (default 256)")
    parser.add_argument("--no-contributors", action="store_true",
                        help="leave out what drove each risk (integrated gradients, most of the time taken)")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="processes sharing the chunks of patients: on the CPU each bins its chunks and runs the "
                             "network on them on one thread (default: one per core, at most 8, the cores divided "
                             "among --nproc-per-node workers); 0 does everything in the main process")
    add_launcher_options(parser, "forecast --out's chunks")


def _job(args: argparse.Namespace, model, chunk: int) -> dict:
    """What a resumed --out must have been started with: the same weights, input and options, and the same chunks
    (each result is computed in the same batch as in an uninterrupted run, so it has the same digits)."""
    return {
        "model": model.name,
        "weights_sha256": model.metadata.get("weights", {}).get("sha256"),
        "input": str(Path(args.path).resolve()),
        "patient": args.patient,
        "contributors": not args.no_contributors,
        "chunk": chunk,
    }


def run_forecast(args: argparse.Namespace) -> int:
    """Forecast from the end of each patient's data (docs/design.md §3 ``forecast --json`` and ``--out``); with
    ``--nproc-per-node`` the patients' chunks are shared by torchrun workers (docs/scale-out.md)."""
    from medstation.engine.runtime import keep_freed_memory, process_group

    keep_freed_memory()
    if args.resume and not args.out:
        raise MedStationError("--resume continues the results file of --out; give --out")
    if args.chunk is not None and args.chunk < 1:
        raise MedStationError(f"--chunk must be at least 1 patient, not {args.chunk}")
    if args.workers is not None and args.workers < 0:
        raise MedStationError(f"--workers must be 0 or more, not {args.workers}")
    if args.nproc_per_node is not None and not args.out:
        raise MedStationError("--nproc-per-node shares the rows of --out between workers; give --out")
    if args.out:
        from medstation.engine.runtime import launched
        from medstation.io.batch_results import check_results_start, partial_paths, results_format

        results_format(args.out)
        refuse_writing_into_source(args.path, args.out)
        if args.nproc_per_node is not None and not launched():  # the launcher; rank 0 checks again
            check_results_start(args.out, args.resume, sharded=True)
        parts = partial_paths(args.out)[1]
        kept = f"the chunks written so far are kept in {parts}; --resume continues them, on any number of workers"
        if launch_workers(args, kept, job="forecast"):
            return 0
    with process_group() as workers:
        return _forecast(args, workers)


def _forecast(args: argparse.Namespace, workers) -> int:
    """Forecast (every worker its share of the chunks), then print (rank 0)."""
    from medstation.engine.batches import default_workers, run_sharded
    from medstation.engine.forecaster import load_forecaster
    from medstation.engine.forecaster.cohort import CHUNK, forecast_cohort
    from medstation.io.timelines.reading import load_timelines

    chunk = args.chunk or CHUNK
    with ProgressBar(args.progress and workers.leader, None if workers.leader else io.StringIO()) as bar:
        timelines, report = load_timelines(args.path, patient=args.patient, progress=lambda f, m: bar(0.1 * f, m))
        model = load_forecaster(args.model or FORECASTER.shipped)
        skipped = [{"path": str(row.source), "line": row.line, "reason": row.reason} for row in report.bad_rows]
        if workers.leader:
            for row in report.bad_rows:
                print(f"skipped {row}", file=sys.stderr)
        sources = {t.patient_id: t.source for t in timelines}

        def skip(patient: str, reason: str) -> None:
            skipped.append(skipped_entry(sources[patient], reason, id=patient))

        def progress(fraction: float, message: str) -> None:
            bar(0.1 + 0.9 * fraction, message)

        on_cpu = str(next(model.ensemble.parameters()).device) == "cpu"
        workers_now = default_workers(on_cpu, workers.on_this_machine) if args.workers is None else args.workers

        def run(items, sink, done=(), on_skipped=None):
            return forecast_cohort(model, items, sink, chunk, explain=not args.no_contributors, done=done,
                                   workers=workers_now, progress=progress, on_skipped=on_skipped)

        if args.out:
            from medstation.io.batch_results import chunked, open_results

            job = _job(args, model, chunk)
            keys = [t.patient_id for t in timelines]
            patients = None
            if chunked(args.out, workers.grouped):
                def open_out(create: bool):
                    return open_results(args.out, "id", RESULT_COLUMNS, job, keys, resume=args.resume or not create,
                                        sharded=True, create=create)

                def run_mine(items, sink, done):
                    return run(items, lambda rows: sink([p.to_json() for p in rows]), done)

                summary, _ = run_sharded(timelines, keys, chunk, open_out, run_mine, workers)
                for patient, reason in summary.skipped:
                    skip(patient, reason)
                if not workers.leader:
                    return 0
            else:
                with open_results(args.out, "id", RESULT_COLUMNS, job, keys, resume=args.resume) as writer:
                    summary = run(timelines, lambda rows: writer.write([p.to_json() for p in rows]), writer.done,
                                  skip)
        else:
            patients = []
            summary = run(timelines, patients.extend, on_skipped=skip)
    if summary.ran + summary.done_before == 0:
        last = skipped[-1] if skipped else None
        where = "" if last is None or last["path"] == str(args.path) else f"{last['path']}: "
        first = f": {where}{last['reason']}" if last else ""
        raise MedStationError(f"{args.path}: no patient could be forecast ({len(skipped)} skipped{first})")
    if patients is None:
        return _print_written(args, model.name, summary, skipped)
    if args.json:
        print_json({"model": model.name, "patients": [p.to_json() for p in patients], "skipped": skipped})
        return 0
    for p in patients:
        risk = p.risk[-1][1] if p.risk else float("nan")
        print(f"patient {p.patient_id}: data to hour {p.last_hour:.1f}, risk of in-hospital death {risk:.3f}")
        for name, points in p.forecast.items():
            shown = ", ".join(f"+{q.hour - points[0].hour + 1:.0f} h {q.p50:.4g} [{q.p10:.4g}-{q.p90:.4g}]"
                              for q in points[::3])
            print(f"  {name}: {shown}")
        if p.contributors:
            print("  risk driven by: " + ", ".join(f"{c.variable} ({c.attribution:+.3f})" for c in p.contributors))
    return 0


def _print_written(args: argparse.Namespace, model: str, summary, skipped: list[dict]) -> int:
    """The summary of a ``forecast --out`` run (docs/design.md §3)."""
    written = summary.ran + summary.done_before
    if args.json:
        print_json({"model": model, "out": str(args.out), "patients": written, "forecast_now": summary.ran,
                    "resumed": summary.done_before, "skipped": skipped})
        return 0
    resumed = f", {summary.done_before} of them written before" if summary.done_before else ""
    print(f"{args.out}: {written} patients forecast by {model}{resumed}; {len(skipped)} skipped")
    return 0
