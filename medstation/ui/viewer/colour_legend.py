"""The colour bar of a heat-map overlay (a saliency map) in a view's corner: its name, colours, range and threshold.

A slice view shows it while a heat layer is visible (:func:`medstation.core.layers.colour_legend`) and hides it
otherwise. The bar runs from the layer's ``low`` at the bottom to its ``high`` at the top; the part below the
threshold, which the overlay leaves clear, is dimmed and its tick says so.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QImage, QPainter, QPen
from PySide6.QtWidgets import QWidget

from medstation.core.layers import ColourLegend

BAR_WIDTH = 14
MAX_BAR_HEIGHT = 110
MIN_BAR_HEIGHT = 40
PADDING = 6
_TEXT = QColor(230, 230, 230)
_BACKGROUND = QColor(0, 0, 0, 150)
_DIMMED = QColor(0, 0, 0, 170)


class ColourLegendWidget(QWidget):
    """Draws one :class:`ColourLegend`; hidden while it has none. Mouse events pass through to the view."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.legend: ColourLegend | None = None
        self.bar_height = MAX_BAR_HEIGHT
        self._bar_image: QImage | None = None
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        font = self.font()
        font.setPixelSize(11)
        self.setFont(font)
        self.hide()

    def set_legend(self, legend: ColourLegend | None) -> None:
        """Show ``legend`` (None hides the widget)."""
        if legend is not None and self.legend is not None and _same(legend, self.legend):
            return
        self.legend = legend
        self._bar_image = None if legend is None else _bar_image(legend.colours)
        self.setVisible(legend is not None)
        self.adjustSize()
        self.update()

    def fit_height(self, room: int) -> None:
        """Shrink the bar so the whole legend fits in ``room`` pixels of height (never below a minimum)."""
        metrics = QFontMetrics(self.font())
        text_lines = 1 + bool(self.legend and self.legend.meaning)
        spare = room - 2 * PADDING - text_lines * metrics.height() - metrics.height() // 2 - 4
        height = int(np.clip(spare, MIN_BAR_HEIGHT, MAX_BAR_HEIGHT))
        if height != self.bar_height:
            self.bar_height = height
            self.adjustSize()
            self.update()

    def sizeHint(self) -> QSize:
        if self.legend is None:
            return QSize(0, 0)
        metrics = QFontMetrics(self.font())
        tick_width = max(metrics.horizontalAdvance(text) for _, text in self.legend.ticks())
        texts = [self.legend.title, self.legend.meaning]
        width = max(BAR_WIDTH + 6 + tick_width, *(metrics.horizontalAdvance(text) for text in texts))
        lines = 1 + bool(self.legend.meaning)
        height = lines * metrics.height() + self.bar_height + metrics.height() // 2 + 4
        return QSize(width + 2 * PADDING, height + 2 * PADDING)

    def bar_rect(self) -> QRect:
        """Where the colour bar is drawn, in widget pixels (``high`` at its top)."""
        metrics = QFontMetrics(self.font())
        top = PADDING + metrics.height() + metrics.height() // 4 + 2
        return QRect(PADDING, top, BAR_WIDTH, self.bar_height)

    def paintEvent(self, event) -> None:
        legend = self.legend
        if legend is None or self._bar_image is None:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(_BACKGROUND)
        painter.drawRoundedRect(QRectF(self.rect()), 4, 4)
        metrics = QFontMetrics(self.font())
        painter.setPen(_TEXT)
        painter.drawText(PADDING, PADDING + metrics.ascent(), legend.title)
        bar = self.bar_rect()
        painter.drawImage(bar, self._bar_image)
        clear = round(bar.height() * legend.clear_fraction)
        if clear:
            painter.fillRect(QRect(bar.left(), bar.bottom() + 1 - clear, bar.width(), clear), _DIMMED)
        painter.setPen(QPen(_TEXT, 1))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(bar.adjusted(0, 0, -1, -1))
        for fraction, text in legend.ticks():
            y = bar.bottom() - round(fraction * (bar.height() - 1))
            painter.drawLine(bar.right() + 1, y, bar.right() + 4, y)
            baseline = int(np.clip(y + metrics.ascent() // 2 - 1, bar.top() + metrics.ascent() // 2,
                                   bar.bottom() + metrics.ascent() // 2))
            painter.drawText(bar.right() + 7, baseline, text)
        if legend.meaning:
            painter.drawText(PADDING, bar.bottom() + metrics.height() // 2 + 2 + metrics.ascent(), legend.meaning)
        painter.end()


def _bar_image(colours: np.ndarray) -> QImage:
    """A 1-pixel-wide RGB image of the colours, ``high`` (the last) at the top."""
    column = np.ascontiguousarray(colours[::-1, np.newaxis, :3], dtype=np.uint8)
    image = QImage(column.data, 1, column.shape[0], 3, QImage.Format.Format_RGB888)
    return image.copy()


def _same(a: ColourLegend, b: ColourLegend) -> bool:
    return (a.title, a.low, a.high, a.threshold, a.meaning) == (b.title, b.low, b.high, b.threshold, b.meaning) and (
        np.array_equal(a.colours, b.colours))
