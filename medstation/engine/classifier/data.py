"""Labelled images for training and evaluating classifiers: a MedMNIST-layout ``.npz`` or a folder with a CSV.

``.npz`` (MedMNIST layout): ``{split}_images`` ``(N, H, W)`` grey, ``(N, H, W, 3)`` colour or ``(N, D, H, W)``
volumes, and ``{split}_labels`` ``(N,)`` or ``(N, 1)`` class indices, for splits ``train``, ``val``, ``test``.
Optional ``{split}_{column}`` arrays ``(N,)`` are subgroup attributes (sex, age band, site).

Folder: a CSV (``labels.csv`` in the folder, or the CSV's own path) with a header row holding the image's path
(relative to the CSV's folder; column ``path``, else ``file``, or the one named) and its label (column ``label`` or
the one named: ``finding`` for bacterial / viral / normal), optionally ``split`` (``train``/``val``/``test``); every
other column is a subgroup attribute. Without a ``split`` column the rows are split 70/15/15 per label, at random
with the seed.
Images (DICOM, NIfTI, PNG, ...) must all have one size, or be resized with ``size``.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from medstation.engine.classifier.inputs import resize_batch
from medstation.errors import UnreadableInput
from medstation.progress import CancelToken, ProgressCallback, check_cancelled, report

SPLITS = ("train", "val", "test")
CSV_NAME = "labels.csv"
PATH_COLUMNS = ("path", "file")
"""Columns taken as the image's path, in this order, where none is named."""
_RANDOM_SPLIT = (0.70, 0.15, 0.15)


@dataclass
class Split:
    """One split: images ``(N, channels, *spatial)`` as stored, class indices ``(N,)``, subgroup columns."""

    images: np.ndarray
    labels: np.ndarray
    groups: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.labels.size)


@dataclass
class LabelledImages:
    """A data set: label names in class-index order and its splits."""

    source: Path
    label_names: tuple[str, ...]
    splits: dict[str, Split]
    columns: dict[str, str] = field(default_factory=dict)
    """The CSV's path and label columns (``{"path": ..., "label": ...}``); empty for an ``.npz``."""

    @property
    def spatial_dims(self) -> int:
        return next(iter(self.splits.values())).images.ndim - 2

    @property
    def channels(self) -> int:
        return int(next(iter(self.splits.values())).images.shape[1])

    @property
    def spatial_size(self) -> tuple[int, ...]:
        return tuple(int(n) for n in next(iter(self.splits.values())).images.shape[2:])

    def split(self, name: str) -> Split:
        """The split called ``name``; UnreadableInput naming the ones present otherwise."""
        if name not in self.splits:
            raise UnreadableInput(f"{self.source}: no '{name}' split (found {', '.join(self.splits) or 'none'})")
        return self.splits[name]


def _channels_first(images: np.ndarray, source: str) -> np.ndarray:
    if images.ndim == 3:
        return images[:, np.newaxis]
    if images.ndim == 4 and images.shape[-1] == 3:
        return np.moveaxis(images, -1, 1)
    if images.ndim == 4:
        return images[:, np.newaxis]
    raise UnreadableInput(
        f"{source}: images of shape {images.shape} are neither (N, H, W), (N, H, W, 3) nor (N, D, H, W)"
    )


def _class_indices(labels: np.ndarray, source: str) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer) or labels.min(initial=0) < 0:
        raise UnreadableInput(
            f"{source}: labels of shape {labels.shape} are not one class index per image "
            "(multi-label data sets are not supported)"
        )
    return labels.astype(np.int64)


def _label_names(count: int, names: Sequence[str] | None, source: str) -> tuple[str, ...]:
    if names is None:
        return tuple(str(index) for index in range(count))
    if len(names) < count:
        raise UnreadableInput(f"{source}: the labels go up to class {count - 1} but only {len(names)} names were given")
    return tuple(names)


def load_npz(path: Path | str, label_names: Sequence[str] | None = None) -> LabelledImages:
    """A MedMNIST-layout ``.npz`` (see the module docstring)."""
    path = Path(path)
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise UnreadableInput(f"{path}: not a readable .npz archive ({error})") from None
    with archive:
        splits = {}
        for name in SPLITS:
            if f"{name}_images" not in archive.files:
                continue
            images = _channels_first(archive[f"{name}_images"], f"{path}:{name}_images")
            labels = _class_indices(archive[f"{name}_labels"], f"{path}:{name}_labels")
            if len(images) != len(labels):
                raise UnreadableInput(f"{path}: {len(images)} {name} images but {len(labels)} labels")
            prefix = f"{name}_"
            groups = {
                key[len(prefix):]: np.asarray(archive[key]).ravel().astype(str)
                for key in archive.files
                if key.startswith(prefix) and key not in (f"{name}_images", f"{name}_labels")
            }
            splits[name] = Split(images, labels, groups)
    if not splits:
        raise UnreadableInput(f"{path}: no train_images, val_images or test_images arrays (MedMNIST layout)")
    count = max(int(split.labels.max(initial=0)) for split in splits.values()) + 1
    return LabelledImages(path, _label_names(max(count, 2), label_names, str(path)), splits)


def _read_rows(csv_path: Path, path_column: str | None, label_column: str) -> tuple[list[dict[str, str]], str]:
    """The CSV's rows and the name of its path column."""
    try:
        with csv_path.open(newline="", encoding="utf-8-sig") as stream:
            rows = list(csv.DictReader(stream))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise UnreadableInput(f"{csv_path}: cannot read the labels table ({error})") from None
    header = set(rows[0]) if rows else set()
    if path_column is None:
        path_column = next((name for name in PATH_COLUMNS if name in header), PATH_COLUMNS[0])
    if not rows or not {path_column, label_column} <= header:
        raise UnreadableInput(
            f"{csv_path}: needs a header row with '{path_column}' and '{label_column}' columns and at least one row "
            f"(found {', '.join(sorted(header)) or 'none'})"
        )
    return rows, path_column


def _assign_splits(rows: list[dict[str, str]], seed: int, label_column: str) -> list[str]:
    if all(row.get("split") for row in rows):
        unknown = sorted({row["split"] for row in rows} - set(SPLITS))
        if unknown:
            raise UnreadableInput(f"unknown split names {unknown}; use train, val and test")
        return [row["split"] for row in rows]
    generator = np.random.default_rng(seed)
    assigned = [""] * len(rows)
    for label in sorted({row[label_column] for row in rows}):
        members = generator.permutation([i for i, row in enumerate(rows) if row[label_column] == label])
        cuts = np.round(np.cumsum(_RANDOM_SPLIT)[:-1] * len(members)).astype(int)
        for name, part in zip(SPLITS, np.split(members, cuts), strict=True):
            for index in part:
                assigned[index] = name
    return assigned


def load_folder(
    path: Path | str,
    seed: int = 0,
    size: Sequence[int] | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken = None,
    path_column: str | None = None,
    label_column: str = "label",
) -> LabelledImages:
    """Images listed in a labels CSV (see the module docstring), read and optionally resized to ``size``."""
    from medstation.io.open_study import open_image

    path = Path(path)
    csv_path = path / CSV_NAME if path.is_dir() else path
    rows, path_column = _read_rows(csv_path, path_column, label_column)
    names = tuple(sorted({row[label_column] for row in rows}))
    assigned = _assign_splits(rows, seed, label_column)
    images = []
    for number, row in enumerate(rows):
        check_cancelled(cancel)
        volume = open_image(csv_path.parent / row[path_column]).volume
        array = np.asarray(volume.array, dtype=np.float32)
        array = np.moveaxis(array, -1, 0) if volume.is_rgb else array[np.newaxis]
        if array.shape[1] == 1:
            array = array[:, 0]
        if size:
            array = resize_batch(array[np.newaxis], tuple(size) * (array.ndim - 1) if len(size) == 1 else size)[0]
        images.append(array)
        report(progress, (number + 1) / len(rows), f"reading {row[path_column]}")
    shapes = {image.shape for image in images}
    if len(shapes) > 1:
        raise UnreadableInput(f"{csv_path}: images of several sizes {sorted(shapes)[:3]}; give a common size to resize")
    extra = [column for column in rows[0] if column not in {"split", path_column, label_column}]
    splits = {}
    for name in SPLITS:
        picked = [i for i, split in enumerate(assigned) if split == name]
        if picked:
            splits[name] = Split(
                np.stack([images[i] for i in picked]),
                np.array([names.index(rows[i][label_column]) for i in picked], dtype=np.int64),
                {column: np.array([rows[i][column] for i in picked]) for column in extra},
            )
    return LabelledImages(csv_path, names, splits, {"path": path_column, "label": label_column})


def load_labelled_images(
    path: Path | str,
    label_names: Sequence[str] | None = None,
    seed: int = 0,
    size: Sequence[int] | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken = None,
    path_column: str | None = None,
    label_column: str = "label",
) -> LabelledImages:
    """An ``.npz`` in MedMNIST layout, or a folder / CSV of labelled image files (its path and label columns as
    named, see the module docstring)."""
    path = Path(path)
    if not path.exists():
        raise UnreadableInput(f"{path}: no such file or folder")
    if path.suffix.lower() == ".npz":
        return load_npz(path, label_names)
    if label_names is not None:
        raise UnreadableInput(f"{path}: label names come from the CSV's 'label' column; do not give them separately")
    return load_folder(path, seed, size, progress, cancel, path_column, label_column)
