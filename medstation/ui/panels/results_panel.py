"""The results panel: DICOM objects MedStation exported, opened again.

A Structured Report (TID 1500 report, Key Object Selection) is listed as text, its content tree one line per item
(:func:`medstation.io.export.reading.sr_lines`). A Segmentation or Parametric Map becomes an overlay layer on its
source series when that series is open (matched by the referenced SeriesInstanceUID, else by the frame of
reference), placed frame by frame through the source images it names; otherwise one line says which series to
open. Each file is read in a job; a file that is none of these is handed back to be opened as an image.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QPlainTextEdit, QSplitter, QVBoxLayout, QWidget

from medstation.core.layers import OverlayLayer
from medstation.core.volume import Volume
from medstation.ui.jobs import Job, JobRunner


@dataclass(frozen=True)
class OpenSeries:
    """The series open in the viewer: its volume and the file or folder it was opened from."""

    volume: Volume
    source: Path


@dataclass(frozen=True)
class ReportText:
    path: Path
    lines: list[str]


@dataclass(frozen=True)
class PlacedLayer:
    path: Path
    layer: OverlayLayer
    volume: Volume


@dataclass(frozen=True)
class NotPlaced:
    path: Path
    message: str


def read_result_file(path: Path, open_series: OpenSeries | None, progress=None, cancel=None
                     ) -> ReportText | PlacedLayer | NotPlaced | None:
    """Read ``path`` as an SR (its lines) or as a SEG / Parametric Map on ``open_series`` (a layer); None when it is
    not such an object."""
    from medstation.io.export.reading import derived_layer, exported_object, sr_lines
    from medstation.io.export.sources import find_source_series, read_source_images

    found = exported_object(path)
    if found is None:
        return None
    if found.kind == "report":
        return ReportText(path, sr_lines(path))
    what = "segmentation" if found.kind == "segmentation" else "parametric map"
    volume = open_series.volume if open_series is not None else None
    info = volume.info if volume is not None else None
    matches = info is not None and info.series_uid and (
        info.series_uid in found.source_series
        or (not found.source_series and found.frame_of_reference_uid == info.frame_of_reference_uid))
    if not matches:
        wanted = ", ".join(sorted(found.source_series)) or f"frame of reference {found.frame_of_reference_uid}"
        return NotPlaced(path, f"{path.name}: a {what} of series {wanted}, which is not open; open that series, "
                               "then open this file again")
    source = read_source_images(find_source_series(open_series.source, info.series_uid, volume.spatial_shape[0]))
    return PlacedLayer(path, derived_layer(path, volume, source.instance_uids(), source.frames), volume)


def read_for_open_series(path: Path, shown: list[OpenSeries], progress=None, cancel=None
                         ) -> ReportText | PlacedLayer | NotPlaced | None:
    """Read ``path`` as :func:`read_result_file` does, against each series in ``shown`` (in order) until one is its
    source: a SEG or Parametric Map becomes a layer on that one; an SR is read once. With no series shown, or none
    the source, the result is the reader's :class:`NotPlaced` line."""
    result = None
    for series in shown or [None]:
        result = read_result_file(path, series, progress, cancel)
        if not isinstance(result, NotPlaced):
            return result
    return result


class ResultsPanel(QWidget):
    """The reports opened (a list) and the selected one's content; a status line for layers and refusals.

    ``layer_opened(PlacedLayer)`` hands a SEG or Parametric Map layer to the viewer; ``report_opened(Path)`` says a
    report is listed (to bring the panel forward); ``message(str)`` is a line for the status bar.
    """

    layer_opened = Signal(object)
    report_opened = Signal(object)
    message = Signal(str)

    def __init__(self, runner: JobRunner, open_series: Callable[[], list[OpenSeries]],
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.runner = runner
        self.open_series = open_series
        self.reports: dict[str, list[str]] = {}
        self.documents = QListWidget()
        self.documents.currentItemChanged.connect(self._show_selected)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setPlaceholderText("Open a DICOM SR, SEG or Parametric Map (File > Open file…, or drop it here) "
                                     "to read it.")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.documents)
        splitter.addWidget(self.text)
        splitter.setStretchFactor(1, 4)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.status)

    def open_file(self, path: Path, otherwise: Callable[[Path], Job | None]) -> Job:
        """Read ``path`` in a job against the open viewers' series (``open_series()``, main viewer first); one that is
        no exported object goes on to ``otherwise(path)`` (open as image)."""
        job = self.runner.submit(f"Read {Path(path).name}", read_for_open_series, Path(path), self.open_series())
        job.succeeded.connect(lambda result, path=Path(path): self._read(result, path, otherwise))
        return job

    def _read(self, result, path: Path, otherwise: Callable[[Path], Job | None]) -> None:
        if result is None:
            otherwise(path)
        elif isinstance(result, ReportText):
            self.show_report(result.path, result.lines)
        elif isinstance(result, PlacedLayer):
            self._say(f"{path.name}: shown as the layer '{result.layer.name}' on the open series")
            self.layer_opened.emit(result)
        else:
            self._say(result.message)

    def show_report(self, path: Path, lines: list[str]) -> None:
        """List a report and show its content."""
        key = str(path)
        self.reports[key] = lines
        matches = [self.documents.item(row) for row in range(self.documents.count())
                   if self.documents.item(row).data(Qt.ItemDataRole.UserRole) == key]
        item = matches[0] if matches else QListWidgetItem(f"{path.name}  —  {lines[0] if lines else ''}")
        item.setData(Qt.ItemDataRole.UserRole, key)
        item.setToolTip(key)
        if not matches:
            self.documents.addItem(item)
        self.documents.setCurrentItem(item)
        self._show_selected(item)
        self._say(f"{path.name}: {len(lines)} lines of the report listed in the results panel")
        self.report_opened.emit(path)

    def _show_selected(self, item: QListWidgetItem | None, _previous=None) -> None:
        lines = self.reports.get(item.data(Qt.ItemDataRole.UserRole), []) if item is not None else []
        self.text.setPlainText("\n".join(lines))

    def _say(self, text: str) -> None:
        self.status.setText(text)
        self.message.emit(text)
