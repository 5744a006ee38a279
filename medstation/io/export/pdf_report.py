"""The reading as a PDF report (reportlab): one page per case with its key image and overlay, the classifier's
probabilities and decision, the model's card summary and metrics, the measurements, the date and the reader.

Drawn with reportlab's platypus (flowing paragraphs and tables); nothing here needs Qt, so the command line writes
the same report as the workstation. The key image is the slice as the viewer shows it, with its overlay blended
in (:mod:`medstation.io.export.overlay_image`), scaled up without smoothing so pixels stay pixels. A case never
runs onto a second page: where its result, card and measurements leave too little room, the image is drawn
smaller (down to :data:`MIN_IMAGE_SIDE_CM`), and what still does not fit is shrunk as a whole.
"""

from __future__ import annotations

import datetime
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from medstation import __version__
from medstation.io.export.files import write_atomically
from medstation.io.export.results import DECISION_SUPPORT, ClassificationResult

IMAGE_SIDE_CM = 8.0
MIN_IMAGE_SIDE_CM = 4.0
MARGINS_CM = {"leftMargin": 1.8, "rightMargin": 1.8, "topMargin": 1.5, "bottomMargin": 1.5}
MEASUREMENT_COLUMNS = ("id", "kind", "slice", "length_mm", "mean", "sd", "min", "max", "area_mm2", "unit")


@dataclass
class ReportCase:
    """One page: what was read (``heading`` lines such as patient, study, series), the key image (uint8 RGB
    ``[row, column, 3]`` with its overlay, or None), the classification, and measurement rows
    (:func:`medstation.core.measurements.measurement_row`)."""

    title: str
    heading: dict[str, str] = field(default_factory=dict)
    image: np.ndarray | None = None
    image_caption: str = ""
    result: ClassificationResult | None = None
    measurements: list[dict] = field(default_factory=list)


def case_heading(info, image: str) -> dict[str, str]:
    """What a page says it reads: patient, study, series (of a ``VolumeInfo``) and ``image``; empty lines left out."""
    patient = f"{info.patient_name} ({info.patient_id})" if info.patient_id else info.patient_name
    heading = {"Patient": patient, "Study": f"{info.study_date} {info.study_description}".strip(),
               "Series": f"{info.series_number or ''} {info.series_description}".strip(), "Image": image}
    return {key: value for key, value in heading.items() if value}


def write_pdf_report(cases: Sequence[ReportCase], path: str | os.PathLike, reader: str = "", force: bool = False,
                     date: datetime.date | None = None) -> Path:
    """Write ``cases`` as a PDF, one page each, to ``path`` (atomically; an existing file only with ``force``)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import cm
    from reportlab.platypus import PageBreak, SimpleDocTemplate

    date = date or datetime.date.today()
    margins = {key: value * cm for key, value in MARGINS_CM.items()}
    # the frame SimpleDocTemplate lays a page into: the page less its margins and the frame's 6 pt padding
    room = (A4[0] - margins["leftMargin"] - margins["rightMargin"] - 12,
            A4[1] - margins["topMargin"] - margins["bottomMargin"] - 12)
    story = []
    for number, case in enumerate(cases):
        if number:
            story.append(PageBreak())
        story.append(_one_page(case, reader, date, room))

    def write(target: Path) -> None:
        document = SimpleDocTemplate(str(target), pagesize=A4, **margins, title="MedStation report",
                                     author="MedStation", creator=f"MedStation {__version__}")
        document.build(story, onFirstPage=_footer, onLaterPages=_footer)

    return write_atomically(path, write, force)


def _styles():
    from reportlab.lib.styles import getSampleStyleSheet

    return getSampleStyleSheet()


def _one_page(case: ReportCase, reader: str, date: datetime.date, room: tuple[float, float]):
    """The case's page as one flowable that fits ``room`` (width, height in points): the image made smaller where
    the rest needs the room, anything still too tall shrunk."""
    from reportlab.lib.units import cm
    from reportlab.platypus import KeepInFrame

    width, height = room
    side = IMAGE_SIDE_CM * cm
    flow = _page(case, reader, date, side)
    if case.image is not None:
        excess = _height(flow, width, height) - height
        if excess > 0:
            rows, columns = case.image.shape[:2]
            side = max(MIN_IMAGE_SIDE_CM * cm, side - excess * max(rows, columns) / rows)
            flow = _page(case, reader, date, side)
    return KeepInFrame(width, height, flow, mode="shrink")


def _height(flow: list, width: float, height: float) -> float:
    """How tall ``flow`` is laid out ``width`` points wide (with the space around each flowable)."""
    return sum(item.wrap(width, height)[1] + item.getSpaceBefore() + item.getSpaceAfter() for item in flow)


def _page(case: ReportCase, reader: str, date: datetime.date, image_side: float) -> list:
    from reportlab.lib.units import cm
    from reportlab.platypus import Paragraph, Spacer

    styles = _styles()
    flow = [Paragraph(_escape(case.title), styles["Title"])]
    heading = {**case.heading, "Report date": date.isoformat()}
    flow.append(_table([[key, value] for key, value in heading.items()], widths=(4 * cm, 13 * cm)))
    flow.append(Spacer(1, 0.4 * cm))
    if case.image is not None:
        flow += [_image(case.image, image_side), Paragraph(_escape(case.image_caption), styles["Italic"])]
    if case.result is not None:
        flow += _result(case.result, styles)
    if case.measurements:
        flow.append(Paragraph("Measurements", styles["Heading2"]))
        rows = [list(MEASUREMENT_COLUMNS)] + [[_cell(row.get(column, "")) for column in MEASUREMENT_COLUMNS]
                                              for row in case.measurements]
        flow.append(_table(rows, header=True))
    flow.append(Spacer(1, 0.6 * cm))
    flow.append(_table([["Reader", reader or ""], ["Signature", ""]], widths=(4 * cm, 13 * cm), lines=True))
    return flow


def _result(result: ClassificationResult, styles) -> list:
    from reportlab.lib.units import cm
    from reportlab.platypus import Paragraph

    model = result.model
    flow = [Paragraph("Classifier result", styles["Heading2"]),
            Paragraph(f"<b>Decision:</b> {_escape(result.decision_text())}", styles["Normal"])]
    rows = [["label", "probability"]] + [[label, f"{p:.3f}"] for label, p in result.probabilities.items()]
    if result.threshold is not None:
        rows.append([f"threshold on p({result.positive_label})", f"{result.threshold:.3f}"])
    flow.append(_table(rows, header=True, widths=(7 * cm, 3 * cm)))
    flow.append(Paragraph("Model", styles["Heading3"]))
    card = [["name", model.name], ["version", model.version], ["weights sha256", model.weights_sha256],
            ["description", model.description], ["trained on", f"{model.training_data} ({model.licence})"]]
    if model.metrics:
        shown = ", ".join(f"{name} {value:.3f}" for name, value in model.metrics.items())
        card.append([f"{model.metrics_split} metrics", shown])
    flow.append(_table([[key, Paragraph(_escape(value), styles["BodyText"])] for key, value in card],
                       widths=(4 * cm, 13 * cm)))
    flow.append(Paragraph(f"<b>{_escape(DECISION_SUPPORT)}</b>", styles["Normal"]))
    return flow


def _image(rgb: np.ndarray, side: float):
    """The key image, its longer side ``side`` points long."""
    from PIL import Image as PILImage
    from reportlab.platypus import Image

    rows, columns = rgb.shape[:2]
    factor = max(1, int(np.ceil(512 / max(rows, columns))))
    picture = PILImage.fromarray(np.ascontiguousarray(rgb)).resize((columns * factor, rows * factor),
                                                                   PILImage.Resampling.NEAREST)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    buffer.seek(0)
    scale = side / max(rows, columns)
    return Image(buffer, width=columns * scale, height=rows * scale)


def _table(rows: list[list], header: bool = False, widths=None, lines: bool = False):
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle

    table = Table(rows, colWidths=widths, hAlign="LEFT")
    style = [("FONTSIZE", (0, 0), (-1, -1), 8.5), ("VALIGN", (0, 0), (-1, -1), "TOP"),
             ("BOTTOMPADDING", (0, 0), (-1, -1), 2), ("TOPPADDING", (0, 0), (-1, -1), 2)]
    if header:
        style += [("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"), ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.grey)]
    else:
        style += [("FONTNAME", (0, 0), (0, -1), "Helvetica-Bold")]
    if lines:
        style += [("LINEBELOW", (1, 0), (1, -1), 0.5, colors.black), ("BOTTOMPADDING", (0, 0), (-1, -1), 10)]
    table.setStyle(TableStyle(style))
    return table


def _cell(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _escape(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _footer(canvas, document) -> None:
    canvas.saveState()
    canvas.setFont("Helvetica", 7.5)
    canvas.drawString(document.leftMargin, 0.8 * 28.35, f"MedStation {__version__}. {DECISION_SUPPORT}")
    canvas.drawRightString(document.pagesize[0] - document.rightMargin, 0.8 * 28.35, f"page {document.page}")
    canvas.restoreState()
