"""Each export of File > Export… as one job function, calling the writers the command line calls.

:class:`Reading` is what is open, taken on the GUI thread when an export starts (the volume, where its files are,
the AI result and its saliency layer, the measurements, the key images, the window), so the job never touches
the viewer. :func:`run_task` runs an :class:`ExportTask`; an output that exists already (without ``force``) or an
image that may show identity in its pixels (without ``allow_burned_in``) comes back as a :class:`Question` for the
user, and the dialog runs the task again with the answer. Nothing is written before every check passed.

The series kinds are ``medstation export PATH OUT --format dicom|nifti|png [--anonymize]``
(:func:`~medstation.io.export.series_export.export_series`); the PDF report, the TID 1500 report and the saliency
objects are those of ``classify --report`` and ``--sr``; PACS sends with :func:`~medstation.io.pacs.send_files`.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from medstation.core.layers import OverlayLayer
from medstation.core.measurements import Measurement
from medstation.core.volume import Volume
from medstation.core.window_level import Window
from medstation.io.export.deidentify import BurnedInAnnotation, DeidentificationOptions
from medstation.io.export.files import ExportError, OutputExists, refuse_existing, refuse_source_target
from medstation.progress import CancelToken, ProgressCallback, check_cancelled, report
from medstation.ui.export.key_images import KeyImage

SERIES_KINDS = {"dicom": ("dicom", False), "deidentified": ("dicom", True), "nifti": ("nifti", False),
                "png": ("png", False)}
"""Series export kinds: ``(format, de-identified)``."""
AI_PARTS = {"sr": "ai-report-sr.dcm", "pm": "saliency-parametric-map.dcm", "seg": "saliency-seg.dcm",
            "sc": "saliency-overlay-sc.dcm"}
"""The AI result's DICOM objects and the file each is written to in the chosen folder."""


@dataclass
class Reading:
    """What is open when the export starts. ``analysis`` is the AI panel's last
    :class:`~medstation.engine.saliency.analysis.ImageAnalysis` of this image (None if it was not classified),
    ``saliency`` its map as a layer; ``layers`` the visible overlays; ``current_slice`` the slice ``k`` under the
    crosshair."""

    volume: Volume
    source: Path
    analysis: object | None = None
    saliency: OverlayLayer | None = None
    layers: list[OverlayLayer] = field(default_factory=list)
    measurements: list[Measurement] = field(default_factory=list)
    key_images: list[KeyImage] = field(default_factory=list)
    window: Window | None = None
    current_slice: int = 0

    @property
    def source_folders(self) -> list[Path]:
        """The folder the open files are in (never written into)."""
        folders = {image.source if image.source.is_dir() else image.source.parent for image in self.key_images}
        folders.add(self.source if self.source.is_dir() else self.source.parent)
        return sorted(folders)

    def key_slices(self) -> list[int]:
        """The flagged slices of the open series, else the slice under the crosshair."""
        uid = self.volume.info.series_uid
        flagged = sorted(image.k for image in self.key_images if uid and image.series_uid == uid)
        return flagged or [self.current_slice]


@dataclass
class ExportTask:
    """One export: ``kind`` (a key of :data:`SERIES_KINDS`, ``pdf``, ``ai``, ``kos`` or ``pacs``) of ``reading`` to
    ``target`` (a folder for series and the AI result, a file for the PDF and the KOS; none for PACS)."""

    kind: str
    reading: Reading
    target: Path | None = None
    force: bool = False
    keep_dates: bool = False
    allow_burned_in: bool = False
    reader: str = ""
    parts: tuple[str, ...] = tuple(AI_PARTS)
    node: object | None = None
    deidentify: bool = False
    """``pacs``: send a de-identified copy instead of the files as they are."""


@dataclass(frozen=True)
class Question:
    """What the user must answer before the task can go on: ``replace`` an existing output, or include an image
    with possible ``burned_in`` identity."""

    kind: str
    text: str

    def answered_yes(self, task: ExportTask) -> ExportTask:
        """The task to run after a yes."""
        if self.kind == "replace":
            return dataclasses.replace(task, force=True)
        return dataclasses.replace(task, allow_burned_in=True)


@dataclass(frozen=True)
class Exported:
    """What a finished export wrote (or sent), in one line and as paths."""

    summary: str
    outputs: tuple[Path, ...] = ()


def run_task(task: ExportTask, progress: ProgressCallback | None = None, cancel: CancelToken = None
             ) -> Exported | Question:
    """Run ``task``; a :class:`Question` instead when it needs the user's word first (nothing written then)."""
    try:
        return _RUNNERS[task.kind if task.kind not in SERIES_KINDS else "series"](task, progress, cancel)
    except OutputExists as error:
        return Question("replace", f"{error.path} already exists. Replace it?")
    except BurnedInAnnotation as error:
        return Question("burned_in", f"{error.path.name}: {error.reason}. De-identification does not clean pixels, "
                                     "so a name or date written in the image would leave with it. Include such "
                                     "images anyway?")


def _target(task: ExportTask) -> Path:
    if task.target is None or not str(task.target).strip():
        raise ExportError("choose where to write the export")
    target = Path(task.target).expanduser()
    refuse_source_target(target, task.reading.source_folders)
    return target


def _series_uid(reading: Reading) -> str:
    uid = reading.volume.info.series_uid
    if not uid:
        raise ExportError(f"{reading.source}: the open image is not a DICOM series; DICOM objects and series "
                          "exports need one")
    return uid


# the open series -----------------------------------------------------------------------------------------------
def _export_series(task: ExportTask, progress, cancel) -> Exported:
    from medstation.io.export.series_export import export_series

    fmt, anonymize = SERIES_KINDS[task.kind]
    reading = task.reading
    summary = export_series(reading.source, _target(task), fmt, _series_uid(reading), anonymize=anonymize,
                            options=_options(task), force=task.force, progress=progress, cancel=cancel)
    text = f"Wrote {', '.join(str(path) for path in summary.outputs)} ({summary.files} files)"
    if summary.deidentification is not None:
        figures = summary.deidentification.as_dict()
        text += (f"; de-identified: {figures['removed']} attributes removed, {figures['replaced']} replaced, "
                 f"{figures['uids_remapped']} UIDs replaced, {figures['dates_shifted']} dates shifted")
    return Exported(text, tuple(summary.outputs))


def _options(task: ExportTask) -> DeidentificationOptions:
    return DeidentificationOptions(keep_dates=task.keep_dates, allow_burned_in=task.allow_burned_in)


def _send(task: ExportTask, progress, cancel) -> Exported:
    """The open series to a PACS node: its files as they are, or a de-identified copy written to a temporary
    folder first (removed after the send)."""
    from medstation.io.export.series_export import export_series
    from medstation.io.export.sources import find_source_series
    from medstation.io.pacs import send_files

    reading, node = task.reading, task.node
    if node is None:
        raise ExportError("choose a PACS node to send to (File > PACS… adds one)")
    uid = _series_uid(reading)
    if not task.deidentify:
        files = find_source_series(reading.source, uid, reading.volume.spatial_shape[0]).paths
        sent = send_files(node, files, progress, cancel)
    else:
        staging = Path(tempfile.mkdtemp(prefix="medstation-send-"))
        try:
            summary = export_series(reading.source, staging, "dicom", uid, anonymize=True, options=_options(task),
                                    progress=lambda f, m: report(progress, 0.5 * f, m), cancel=cancel)
            sent = send_files(node, list(summary.outputs), lambda f, m: report(progress, 0.5 + 0.5 * f, m), cancel)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    refused = f"; {len(sent.refused)} refused: {sent.refused[0][1]}" if sent.refused else ""
    return Exported(f"Sent {sent.sent} {'de-identified ' if task.deidentify else ''}instances to {node}{refused}")


# the AI result -------------------------------------------------------------------------------------------------
def _source_images(source: Path, series_uid: str, n_slices: int):
    from medstation.io.export.sources import find_source_series, read_source_images

    return read_source_images(find_source_series(source, series_uid, n_slices))


def _classification(reading: Reading):
    """The AI result as the exported objects record it (model name, version, weights sha256, metrics)."""
    from medstation.engine.bundles import find_bundle
    from medstation.io.export.results import classification_result, model_summary

    analysis = reading.analysis
    if analysis is None:
        return None
    summary = model_summary(analysis.model, find_bundle(analysis.model).metadata.document)
    return classification_result(summary, analysis.prediction.probabilities, analysis.prediction.label,
                                 analysis.decision, slice_index=0)


def _save_ai_result(task: ExportTask, progress, cancel) -> Exported:
    from medstation.io.export.files import save_dicom
    from medstation.io.export.overlay_image import overlay_slice
    from medstation.io.export.parametric_map import saliency_parametric_map
    from medstation.io.export.secondary_capture import overlay_secondary_capture
    from medstation.io.export.segmentation import layer_segmentation
    from medstation.io.export.sr import SeriesFindings, measurement_report

    reading, folder = task.reading, _target(task)
    parts = [part for part in AI_PARTS if part in task.parts]
    if not parts:
        raise ExportError("choose at least one object to save")
    saliency = reading.saliency
    if saliency is None and any(part != "sr" for part in parts):
        raise ExportError("the image has no saliency map: classify it with a saliency method in the AI panel first")
    if "sr" in parts and reading.analysis is None and not reading.measurements:
        raise ExportError("nothing to report: classify the image in the AI panel, or measure on it, first")
    targets = {part: folder / AI_PARTS[part] for part in parts}
    for target in targets.values():
        refuse_existing(target, task.force)
    uid, volume = _series_uid(reading), reading.volume
    report(progress, 0.05, "reading the source images")
    source = _source_images(reading.source, uid, volume.spatial_shape[0])
    result = _classification(reading)
    model = (result.model.name, result.model.version) if result is not None else None
    description = saliency.name if saliency is not None else ""
    k = reading.current_slice
    build = {
        "sr": lambda: measurement_report([SeriesFindings(source, volume.affine, volume.info.modality,
                                                         [result] if result else [], list(reading.measurements))],
                                         reader=task.reader),
        "pm": lambda: saliency_parametric_map(saliency.data, source, f"Saliency: {description}", saliency.meaning),
        "seg": lambda: layer_segmentation(saliency, source, model),
        "sc": lambda: overlay_secondary_capture(overlay_slice(volume, k, [saliency], reading.window), source, k,
                                                f"Overlay: {description}"),
    }
    objects = {}
    for number, part in enumerate(parts):
        check_cancelled(cancel)
        report(progress, 0.1 + 0.8 * number / len(parts), f"making {AI_PARTS[part]}")
        objects[part] = build[part]()
    written = tuple(save_dicom(objects[part], targets[part], task.force) for part in parts)
    report(progress, 1.0, "done")
    return Exported(f"Wrote {', '.join(path.name for path in written)} to {folder}", written)


def _pdf_report(task: ExportTask, progress, cancel) -> Exported:
    """The PDF of ``classify --report``: a page per key image (else the image under the crosshair) with the visible
    overlays; the AI result and the measurements on the first page."""
    from medstation.core.measurements import measurement_row
    from medstation.io.export.overlay_image import overlay_slice
    from medstation.io.export.pdf_report import ReportCase, case_heading, write_pdf_report

    reading, target = task.reading, _target(task)
    refuse_existing(target, task.force)
    report(progress, 0.1, "preparing the report")
    result = _classification(reading)
    volume, info = reading.volume, reading.volume.info
    overlays = ", ".join(layer.name for layer in reading.layers)
    title = f"{result.model.name}: {result.prediction}" if result else (info.series_description or "Reading")
    cases = []
    slices = reading.key_slices()
    for number, k in enumerate(slices):
        check_cancelled(cancel)
        caption = f"Image {k + 1} of {volume.spatial_shape[0]}" + (f", with {overlays}" if overlays else "")
        cases.append(ReportCase(
            title=title, heading=case_heading(info, f"{reading.source.name}, image {k + 1}"),
            image=overlay_slice(volume, k, reading.layers, reading.window), image_caption=caption,
            result=result if number == 0 else None,
            measurements=[measurement_row(m) for m in reading.measurements] if number == 0 else []))
    report(progress, 0.6, "writing the PDF")
    path = write_pdf_report(cases, target, reader=task.reader, force=task.force)
    report(progress, 1.0, "done")
    return Exported(f"Wrote {path} ({len(cases)} page{'s' if len(cases) != 1 else ''})", (path,))


def _key_objects(task: ExportTask, progress, cancel) -> Exported:
    from medstation.io.export.files import save_dicom
    from medstation.io.export.key_objects import key_object_selection

    target = _target(task)
    images = task.reading.key_images
    if not images:
        raise ExportError("no key image flagged: flag images with Tools > Flag as key image (K) first")
    refuse_existing(target, task.force)
    chosen = []
    for number, (series, slices) in enumerate(_by_series(images).items()):
        check_cancelled(cancel)
        report(progress, 0.8 * number / len(images), "reading the source images")
        source = _source_images(*series)
        chosen += [(source, k) for k in slices]
    path = save_dicom(key_object_selection(chosen, reader=task.reader), target, task.force)
    return Exported(f"Wrote {path} ({len(chosen)} key image{'s' if len(chosen) != 1 else ''})", (path,))


def _by_series(images: Sequence[KeyImage]) -> dict[tuple[Path, str, int], list[int]]:
    series: dict[tuple[Path, str, int], list[int]] = {}
    for image in images:
        series.setdefault((image.source, image.series_uid, image.n_slices), []).append(image.k)
    return series


_RUNNERS = {"series": _export_series, "pacs": _send, "ai": _save_ai_result, "pdf": _pdf_report,
            "kos": _key_objects}
