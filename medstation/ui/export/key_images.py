"""The images the reader flagged as key images (Tools > Flag as key image), for a Key Object Selection document.

One study at a time: a KOS covers one study, so flags of another study's images start a new set. An image is
slice ``k`` of a series, remembered with where its files are, so the document can reference the instance. The
slice views mark a flagged image while they show it: :attr:`KeyImages.changed` tells them to look again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from medstation.core.events import Event
from medstation.core.volume import VolumeInfo


@dataclass(frozen=True)
class KeyImage:
    """Slice ``k`` (voxel index, 0-based) of the series ``series_uid`` of ``n_slices`` slices, read from ``source``
    (the file or folder it was opened from)."""

    source: Path
    series_uid: str
    n_slices: int
    k: int
    label: str = ""


class KeyImages:
    """The flagged images of the current study, in the order they were flagged; :attr:`changed` is emitted (no
    arguments) after every flag or unflag."""

    def __init__(self) -> None:
        self.study_uid = ""
        self.items: list[KeyImage] = []
        self.changed = Event()

    def __len__(self) -> int:
        return len(self.items)

    def toggle(self, source: Path, info: VolumeInfo, n_slices: int, k: int) -> bool:
        """Flag slice ``k`` of the series ``info`` describes, or unflag it if it was flagged; True when flagged now.

        Raises
        ------
        ValueError
            When the image did not come from a DICOM series (a KOS references DICOM instances).
        """
        if not info.series_uid:
            raise ValueError("only images of a DICOM series can be flagged as key images")
        if info.study_uid != self.study_uid:
            self.study_uid, self.items = info.study_uid, []
        flagged = next((item for item in self.items if (item.series_uid, item.k) == (info.series_uid, k)), None)
        if flagged is not None:
            self.items.remove(flagged)
        else:
            label = f"series {info.series_number or '?'} {info.series_description}".strip() + f", image {k + 1}"
            self.items.append(KeyImage(Path(source), info.series_uid, n_slices, k, label))
        self.changed.emit()
        return flagged is None

    def is_flagged(self, info: VolumeInfo, k: int) -> bool:
        """True when slice ``k`` of the series ``info`` describes is flagged (never for an image without a series
        UID)."""
        return bool(info.series_uid) and any((item.series_uid, item.k) == (info.series_uid, k) for item in self.items)

    def of_series(self, series_uid: str) -> list[int]:
        """The flagged slices ``k`` of one series, in slice order."""
        return sorted(item.k for item in self.items if item.series_uid == series_uid)
