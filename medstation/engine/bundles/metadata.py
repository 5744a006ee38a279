"""The ``configs/metadata.json`` of a model bundle: its schema, checked locally, and typed access to it.

MONAI's ``verify_metadata`` downloads its schema, which cannot work offline, so the fields MedStation relies on
are checked here. Fields beyond these (``description``, ``authors``, ``monai_version``, the network a classifier
stores, ...) are allowed and kept as they are, as in MONAI bundles.

Schema (``*`` marks a required field):

- ``version``\\*: ``"MAJOR.MINOR.PATCH"``.
- ``task``\\*: the task of one of the model families of :data:`medstation.engine.families.FAMILIES`.
- ``labels``: the class names in output order, at least two, unique; required where the task's family says so
  (classification).
- ``input``: required where the task's family says so (classification and generation).

  - ``spatial_dims``\\*: 2 or 3.
  - ``spatial_size``\\*: ``spatial_dims`` positive integers.
  - ``channels``\\*: a positive integer.
  - ``intensity``\\*: ``{"method": M, ...}`` with M one of :data:`INTENSITY_METHODS`, and that method's parameters.
  - ``modalities``: DICOM modality codes the model was made for (``["DX", "CR"]``); absent means any.
- ``training_data``\\*: ``{"name"*: str, "source": str, "licence": str, "splits": {split: count}}``.
- ``metrics``\\*: ``{split: {metric: number or [low, high]}}``, where a pair is a confidence interval.
- ``weights``\\*: ``{"sha256"*: 64 lowercase hex digits}`` of ``models/model.pt``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medstation.engine.families import FAMILIES
from medstation.errors import ModelError

INTENSITY_METHODS: dict[str, tuple[str, ...]] = {
    "none": (),
    "minmax": (),
    "range": ("a_min", "a_max"),
    "zscore": ("mean", "std"),
}
"""Intensity normalisation methods and their parameters.

``none``: voxels as stored; ``minmax``: each image scaled to [0, 1] by its own minimum and maximum;
``range``: ``[a_min, a_max]`` mapped to [0, 1] and clipped; ``zscore``: ``(x - mean) / std``.
"""

_SEMVER = re.compile(r"^\d+\.\d+\.\d+$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_MAX_NESTING = 64
"""Deepest nesting of objects and lists a metadata document may have (real ones stay under ten)."""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


def _shown(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


class _Problems:
    """Collects ``field: what is wrong`` lines while a document is checked."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, field: str, message: str) -> None:
        self.lines.append(f"'{field}' {message}")

    def section(self, document: Mapping, key: str, prefix: str = "", required: bool = True) -> Mapping | None:
        """The object at ``key``, or None after noting that it is missing or not an object."""
        field = prefix + key
        if key not in document:
            if required:
                self.add(field, "is missing")
            return None
        value = document[key]
        if not isinstance(value, Mapping):
            self.add(field, f"must be an object, got {_shown(value)}")
            return None
        return value

    def string(self, document: Mapping, key: str, prefix: str = "", required: bool = True) -> None:
        field = prefix + key
        if key not in document:
            if required:
                self.add(field, "is missing")
        elif not isinstance(document[key], str) or not document[key].strip():
            self.add(field, f"must be a non-empty string, got {_shown(document[key])}")


def _check_labels(document: Mapping, problems: _Problems, required: bool) -> None:
    if "labels" not in document:
        if required:
            problems.add("labels", "is missing (a classification bundle lists its class names in output order)")
        return
    labels = document["labels"]
    if not isinstance(labels, list) or len(labels) < 2:
        problems.add("labels", f"must be a list of at least two class names, got {_shown(labels)}")
        return
    for index, label in enumerate(labels):
        if not isinstance(label, str) or not label.strip():
            problems.add(f"labels[{index}]", f"must be a non-empty string, got {_shown(label)}")
    if len({str(label) for label in labels}) != len(labels):
        problems.add("labels", f"must not repeat a class name, got {_shown(labels)}")


def _check_intensity(spec: Mapping, problems: _Problems) -> None:
    intensity = problems.section(spec, "intensity", "input.")
    if intensity is None:
        return
    method = intensity.get("method")
    if method not in INTENSITY_METHODS:
        problems.add("input.intensity.method", f"must be one of {', '.join(INTENSITY_METHODS)}, got {_shown(method)}")
        return
    for name in INTENSITY_METHODS[method]:
        if not _is_number(intensity.get(name)):
            problems.add(f"input.intensity.{name}", f"must be a number for method '{method}'")
    a_min, a_max = intensity.get("a_min"), intensity.get("a_max")
    if method == "range" and _is_number(a_min) and _is_number(a_max) and a_max <= a_min:
        problems.add("input.intensity.a_max", "must be greater than a_min")
    if method == "zscore" and _is_number(intensity.get("std")) and intensity["std"] <= 0:
        problems.add("input.intensity.std", "must be positive")


def _check_input(document: Mapping, problems: _Problems, required: bool) -> None:
    spec = problems.section(document, "input", required=required)
    if spec is None:
        return
    dims = spec.get("spatial_dims")
    if dims not in (2, 3) or not _is_int(dims):
        problems.add("input.spatial_dims", f"must be 2 or 3, got {_shown(dims)}")
    size = spec.get("spatial_size")
    size_ok = isinstance(size, list) and all(_is_int(n) and n > 0 for n in size)
    if not size_ok or (dims in (2, 3) and len(size) != dims):
        problems.add("input.spatial_size", f"must be {_shown(dims)} positive integers, got {_shown(size)}")
    channels = spec.get("channels")
    if not _is_int(channels) or channels < 1:
        problems.add("input.channels", f"must be a positive integer, got {_shown(channels)}")
    _check_intensity(spec, problems)
    if "modalities" in spec:
        modalities = spec["modalities"]
        if (
            not isinstance(modalities, list)
            or not modalities
            or not all(isinstance(code, str) and code.strip() for code in modalities)
        ):
            problems.add(
                "input.modalities", f"must be a non-empty list of DICOM modality codes, got {_shown(modalities)}"
            )


def _check_training_data(document: Mapping, problems: _Problems) -> None:
    data = problems.section(document, "training_data")
    if data is None:
        return
    problems.string(data, "name", "training_data.")
    problems.string(data, "source", "training_data.", required=False)
    problems.string(data, "licence", "training_data.", required=False)
    splits = problems.section(data, "splits", "training_data.", required=False)
    for split, count in (splits or {}).items():
        if not _is_int(count) or count < 0:
            problems.add(f"training_data.splits.{split}", f"must be a count of images, got {_shown(count)}")


def _check_metrics(document: Mapping, problems: _Problems) -> None:
    metrics = problems.section(document, "metrics")
    for split in metrics or {}:
        values = problems.section(metrics, split, "metrics.")
        for name, value in (values or {}).items():
            is_pair = isinstance(value, list) and len(value) == 2 and all(_is_number(v) for v in value)
            if not (_is_number(value) or is_pair):
                problems.add(f"metrics.{split}.{name}", f"must be a number or a [low, high] pair, got {_shown(value)}")


def _check_weights(document: Mapping, problems: _Problems) -> None:
    weights = problems.section(document, "weights")
    if weights is None:
        return
    digest = weights.get("sha256")
    if not isinstance(digest, str) or not _SHA256.match(digest):
        problems.add("weights.sha256", f"must be 64 lowercase hexadecimal digits, got {_shown(digest)}")


def metadata_problems(document: Any) -> list[str]:
    """Every way ``document`` breaks the schema of this module, one ``'field' message`` line each."""
    problems = _Problems()
    if not isinstance(document, Mapping):
        problems.add("(top level)", f"must be a JSON object, got {_shown(document)}")
        return problems.lines
    version = document.get("version")
    if not isinstance(version, str) or not _SEMVER.match(version):
        problems.add("version", f'must be MAJOR.MINOR.PATCH such as "1.0.0", got {_shown(version)}')
    task = document.get("task")
    family = FAMILIES.for_task(task) if isinstance(task, str) else None
    if family is None:
        problems.add("task", f"must be one of {', '.join(FAMILIES.tasks)}, got {_shown(task)}")
    _check_labels(document, problems, required=family is not None and family.labels_required)
    _check_input(document, problems, required=family is not None and family.input_required)
    _check_training_data(document, problems)
    _check_metrics(document, problems)
    _check_weights(document, problems)
    return problems.lines


@dataclass(frozen=True)
class IntensitySpec:
    """How voxel values are normalised before the network sees them (see :data:`INTENSITY_METHODS`)."""

    method: str
    parameters: dict[str, float]


@dataclass(frozen=True)
class InputSpec:
    """What a bundle's network takes: dimensions, size, channels, intensity normalisation, modalities."""

    spatial_dims: int
    spatial_size: tuple[int, ...]
    channels: int
    intensity: IntensitySpec
    modalities: tuple[str, ...]


@dataclass(frozen=True)
class BundleMetadata:
    """A checked ``metadata.json`` document with typed access to the fields MedStation uses."""

    document: dict[str, Any]

    @property
    def version(self) -> str:
        return self.document["version"]

    @property
    def task(self) -> str:
        return self.document["task"]

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.document.get("labels", ()))

    @property
    def input_spec(self) -> InputSpec | None:
        spec = self.document.get("input")
        if spec is None:
            return None
        intensity = dict(spec["intensity"])
        method = intensity.pop("method")
        return InputSpec(
            spatial_dims=spec["spatial_dims"],
            spatial_size=tuple(spec["spatial_size"]),
            channels=spec["channels"],
            intensity=IntensitySpec(method, {name: float(intensity[name]) for name in INTENSITY_METHODS[method]}),
            modalities=tuple(spec.get("modalities", ())),
        )

    @property
    def training_data(self) -> dict[str, Any]:
        return self.document["training_data"]

    @property
    def metrics(self) -> dict[str, dict[str, Any]]:
        return self.document["metrics"]

    @property
    def weights_sha256(self) -> str:
        return self.document["weights"]["sha256"]


def validate_metadata(document: Any, source: Path | str) -> BundleMetadata:
    """Check ``document`` against the schema; ModelError naming ``source`` and every faulty field otherwise."""
    problems = metadata_problems(document)
    if problems:
        raise ModelError(f"{source}: invalid bundle metadata: {'; '.join(problems)}")
    return BundleMetadata(json.loads(json.dumps(document)))


def _nested_too_deeply(document: Any) -> bool:
    """True when objects and lists in ``document`` nest deeper than :data:`_MAX_NESTING` (checked without recursion)."""
    pending = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        if children and depth > _MAX_NESTING:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False


def _too_deep(path: Path) -> ModelError:
    return ModelError(f"{path}: cannot read bundle metadata (nested more than {_MAX_NESTING} levels deep)")


def read_metadata(path: Path) -> BundleMetadata:
    """Read and check one ``metadata.json``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ModelError(f"{path}: bundle metadata file is missing") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ModelError(f"{path}: cannot read bundle metadata ({error})") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ModelError(f"{path}: not valid JSON at line {error.lineno} column {error.colno} ({error.msg})") from None
    except RecursionError:
        raise _too_deep(path) from None
    except ValueError as error:
        raise ModelError(f"{path}: cannot read bundle metadata ({error})") from None
    if _nested_too_deeply(document):
        raise _too_deep(path)
    return validate_metadata(document, path)
