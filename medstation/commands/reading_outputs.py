"""``classify --sr OUT.dcm`` and ``--report OUT.pdf``: the classification of DICOM images as a TID 1500 report, and
a PDF page per image with its saliency overlay, the model card summary and the saved measurements."""

from __future__ import annotations

from pathlib import Path

from medstation.errors import MedStationError


def _model_summary(classifier):
    from medstation.io.export.results import model_summary

    return model_summary(classifier.name, classifier.bundle.metadata.document)


def _result(classifier, summary, result: dict):
    from medstation.io.export.results import classification_result

    return classification_result(summary, result["probabilities"], result["prediction"], classifier.decision)


def _saved_measurements(series_uid: str) -> list:
    from medstation.core.measurements import measurement_from_record
    from medstation.io.measurement_store import MeasurementStore

    return [measurement_from_record(record) for record in MeasurementStore().load(series_uid)]


def write_sr(classifier, results: list[dict], out: Path, force: bool) -> Path:
    """One Comprehensive 3D SR of every classified image (all DICOM, of one study) with their saved measurements."""
    from medstation.io.export.files import save_dicom
    from medstation.io.export.sources import find_source_series, read_source_images
    from medstation.io.export.sr import SeriesFindings, measurement_report
    from medstation.io.open_study import open_image

    summary = _model_summary(classifier)
    findings: dict[str, SeriesFindings] = {}
    for result in results:
        path = Path(result["path"])
        volume = open_image(path).volume
        if not volume.info.series_uid:
            raise MedStationError(f"{path}: not a DICOM image; --sr reports on DICOM images only")
        uid = volume.info.series_uid
        if uid not in findings:
            source = read_source_images(find_source_series(path, uid, volume.spatial_shape[0]))
            findings[uid] = SeriesFindings(source, volume.affine, volume.info.modality,
                                           measurements=_saved_measurements(uid))
        findings[uid].results.append(_result(classifier, summary, result))
    return save_dicom(measurement_report(list(findings.values())), out, force)


def write_report(classifier, results: list[dict], out: Path, method: str, force: bool) -> Path:
    """A PDF page per classified image: the image with the saliency of its prediction, the result, the model."""
    from medstation.core.layers import saliency_overlay
    from medstation.core.measurements import measurement_row
    from medstation.engine.saliency import explain_with_bundle
    from medstation.io.export.overlay_image import overlay_slice
    from medstation.io.export.pdf_report import ReportCase, case_heading, write_pdf_report
    from medstation.io.open_study import open_image

    summary = _model_summary(classifier)
    cases = []
    for result in results:
        path = Path(result["path"])
        volume = open_image(path).volume
        explanation = explain_with_bundle(classifier, volume, method, source=str(path))
        layer = saliency_overlay(explanation.saliency.values[None], f"{method}: {explanation.label}")
        info = volume.info
        measurements = _saved_measurements(info.series_uid) if info.series_uid else []
        cases.append(ReportCase(
            title=f"{classifier.name}: {result['prediction']}", heading=case_heading(info, str(path)),
            image=overlay_slice(volume, 0, [layer]),
            image_caption=f"{explanation.saliency.label} saliency of {explanation.label}, shown where it is at "
                          f"least {layer.threshold:.0%} of its peak", result=_result(classifier, summary, result),
            measurements=[measurement_row(m) for m in measurements]))
    return write_pdf_report(cases, out, force=force)


def check_reading_outputs(args) -> None:
    """Before any work: --sr and --report go elsewhere than the input, and not over a file without --force."""
    from medstation.commands.output import refuse_writing_into_source
    from medstation.io.export.files import refuse_existing

    for out in (args.sr, args.report):
        if out is not None:
            if args.path is not None:
                refuse_writing_into_source(args.path, out)
            refuse_existing(out, args.force)


def write_reading_outputs(args, classifier, results: list[dict]) -> list[str]:
    """Write what --sr and --report ask for; the paths written."""
    written = []
    if args.sr is not None:
        written.append(str(write_sr(classifier, results, Path(args.sr), args.force)))
    if args.report is not None:
        written.append(str(write_report(classifier, results, Path(args.report), args.saliency or "gradcam",
                                        args.force)))
    return written
