"""Hanging protocols: rules that choose how a series is first shown (layout, window) from what it is.

A rule matches a series by modality, body part (BodyPartExamined), series description and number of images; the
first rule that matches wins. Each condition a rule leaves out matches anything; the conditions it sets must all
hold. Text compares case-insensitively. The rules are kept as JSON in the user data folder
(:mod:`medstation.io.hanging_protocols`); :data:`DEFAULT_PROTOCOLS` is what a new installation starts with.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from medstation.core.volume import Volume, VolumeInfo
from medstation.core.window_level import Window

VIEW_LAYOUTS = ("single", "1x3", "2x2")
"""The viewer layouts a rule may ask for: the active view alone, axial / coronal / sagittal, those three plus a MIP."""


@dataclass(frozen=True)
class Protocol:
    """One rule: what it matches, then how the series is shown.

    Matching: ``modalities`` (DICOM codes, any one of them), ``body_parts`` (BodyPartExamined values, any one of
    them), ``description`` (a part of the SeriesDescription), ``description_regex`` (a regular expression found in
    it), ``min_images`` / ``max_images`` (the series' images: slices times time points, inclusive). Empty or None
    matches anything.

    Showing: ``layout`` (one of :data:`VIEW_LAYOUTS`; None keeps the viewer's), ``window`` (the name of one of the
    image's window presets, ``Brain``, ``Lung``, ... for CT; None keeps the image's own window), and
    ``compare_with_prior`` (show the patient's previous study of the same kind beside it, where there is one).
    """

    name: str
    modalities: tuple[str, ...] = ()
    body_parts: tuple[str, ...] = ()
    description: str = ""
    description_regex: str = ""
    min_images: int | None = None
    max_images: int | None = None
    layout: str | None = None
    window: str | None = None
    compare_with_prior: bool = False
    _pattern: re.Pattern | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("a hanging protocol needs a name")
        if self.layout is not None and self.layout not in VIEW_LAYOUTS:
            raise ValueError(f"protocol {self.name!r}: layout {self.layout!r} is not one of {', '.join(VIEW_LAYOUTS)}")
        for bound in (self.min_images, self.max_images):
            if bound is not None and (isinstance(bound, bool) or not isinstance(bound, int) or bound < 0):
                raise ValueError(f"protocol {self.name!r}: an image count must be a whole number >= 0, got {bound!r}")
        try:
            pattern = re.compile(self.description_regex, re.IGNORECASE) if self.description_regex else None
        except re.error as error:
            raise ValueError(f"protocol {self.name!r}: description_regex {self.description_regex!r} is not a "
                             f"regular expression ({error})") from error
        object.__setattr__(self, "_pattern", pattern)

    def matches(self, info: VolumeInfo, n_images: int) -> bool:
        """True when every condition this rule sets holds for a series with ``info`` and ``n_images`` images."""
        description = info.series_description or ""
        body_part = info.details.get("BodyPartExamined", "")
        return (
            (not self.modalities or _upper(info.modality) in {_upper(m) for m in self.modalities})
            and (not self.body_parts or _upper(body_part) in {_upper(b) for b in self.body_parts})
            and (not self.description or self.description.casefold() in description.casefold())
            and (self._pattern is None or self._pattern.search(description) is not None)
            and (self.min_images is None or n_images >= self.min_images)
            and (self.max_images is None or n_images <= self.max_images)
        )

    def summary(self) -> str:
        """What the rule does, in a few words (``1x3, Brain window, with the prior``)."""
        parts = [self.layout or "", f"{self.window} window" if self.window else "",
                 "with the prior" if self.compare_with_prior else ""]
        return ", ".join(part for part in parts if part)


def _upper(text: str) -> str:
    return text.strip().upper()


DEFAULT_PROTOCOLS: tuple[Protocol, ...] = (
    Protocol("CT head", modalities=("CT",), body_parts=("HEAD", "BRAIN", "SKULL"), min_images=2, layout="1x3",
             window="Brain"),
    Protocol("CT head", modalities=("CT",), description_regex=r"\b(head|brain|skull|cranial)\b", min_images=2,
             layout="1x3", window="Brain"),
    Protocol("CT chest", modalities=("CT",), body_parts=("CHEST", "LUNG", "THORAX"), min_images=2, layout="1x3",
             window="Lung"),
    Protocol("CT abdomen", modalities=("CT",), body_parts=("ABDOMEN", "PELVIS", "ABDOMENPELVIS", "LIVER"),
             min_images=2, layout="1x3", window="Soft tissue"),
    Protocol("CR/DX chest", modalities=("CR", "DX"), body_parts=("CHEST", "THORAX"), layout="single",
             compare_with_prior=True),
    Protocol("CR/DX chest", modalities=("CR", "DX"), description_regex=r"\b(chest|thorax|cxr)\b", layout="single",
             compare_with_prior=True),
    Protocol("MR brain", modalities=("MR",), body_parts=("BRAIN", "HEAD"), min_images=2, layout="2x2"),
    Protocol("MR brain", modalities=("MR",), description_regex=r"\b(brain|head|neuro)\b", min_images=2,
             layout="2x2"),
)
"""The rules a new installation starts with, first match first."""


def match_protocol(
    volume_info: VolumeInfo, n_images: int, protocols: Sequence[Protocol] = DEFAULT_PROTOCOLS
) -> Protocol | None:
    """The first of ``protocols`` that matches a series with ``volume_info`` and ``n_images`` images, or None."""
    return next((protocol for protocol in protocols if protocol.matches(volume_info, n_images)), None)


def image_count(volume: Volume) -> int:
    """The images of a volume as a protocol counts them: slices times time points."""
    return volume.spatial_shape[0] * volume.n_volumes


def protocol_for(volume: Volume, protocols: Sequence[Protocol] = DEFAULT_PROTOCOLS) -> Protocol | None:
    """The first of ``protocols`` that matches ``volume``."""
    return match_protocol(volume.info, image_count(volume), protocols)


def preset_number(presets: Sequence[Window], name: str) -> int | None:
    """The key (from 1) of the preset called ``name`` (case-insensitive) among ``presets``, or None."""
    wanted = name.strip().casefold()
    return next((number for number, preset in enumerate(presets, start=1) if preset.name.casefold() == wanted), None)


# The JSON form -------------------------------------------------------------------------------------------------

_TEXTS, _TEXT, _COUNT, _FLAG = "a text or a list of texts", "a text", "a whole number", "true or false"
_MATCH_KEYS = {"modality": ("modalities", _TEXTS), "body_part": ("body_parts", _TEXTS),
               "description": ("description", _TEXT), "description_regex": ("description_regex", _TEXT),
               "min_images": ("min_images", _COUNT), "max_images": ("max_images", _COUNT)}
_SHOW_KEYS = {"layout": _TEXT, "window": _TEXT, "compare_with_prior": _FLAG}


def protocol_record(protocol: Protocol) -> dict:
    """The JSON object of one rule: ``name``, ``match`` (only the conditions it sets), ``layout``, ``window``,
    ``compare_with_prior``."""
    match = {}
    for key, (attribute, _) in _MATCH_KEYS.items():
        value = getattr(protocol, attribute)
        if value not in ((), "", None):
            match[key] = list(value) if isinstance(value, tuple) else value
    return {"name": protocol.name, "match": match, **{key: getattr(protocol, key) for key in _SHOW_KEYS}}


def protocol_from_record(record: object, position: int) -> Protocol:
    """One rule from its JSON object (``position`` counts from 1, for messages); ValueError says what is wrong."""
    where = f"rule {position}"
    if not isinstance(record, dict):
        raise ValueError(f"{where} is a JSON {type(record).__name__}, not an object")
    name = record.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{where} has no name")
    where = f"rule {position} ({name})"
    match = record.get("match", {})
    if not isinstance(match, dict):
        raise ValueError(f"{where}: \"match\" must be an object")
    unknown = set(record) - {"name", "match", *_SHOW_KEYS}
    unknown |= {f"match.{key}" for key in set(match) - set(_MATCH_KEYS)}
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    values: dict = {"name": name}
    for key, (attribute, kind) in _MATCH_KEYS.items():
        if match.get(key) is not None:
            values[attribute] = _checked(f"{where}: match.{key}", match[key], kind)
    for key, kind in _SHOW_KEYS.items():
        if record.get(key) is not None:
            values[key] = _checked(f"{where}: {key}", record[key], kind)
    try:
        return Protocol(**values)
    except ValueError as error:
        raise ValueError(str(error).replace(f"protocol {name!r}", where)) from error


def _checked(what: str, value: object, kind: str) -> object:
    """``value`` if it is of ``kind`` (a single text stands for a list of one), else ValueError naming ``what``."""
    if kind == _TEXTS:
        items = [value] if isinstance(value, str) else value
        if isinstance(items, list) and all(isinstance(item, str) for item in items):
            return tuple(items)
    types = {_TEXT: (str,), _COUNT: (int,), _FLAG: (bool,)}.get(kind, ())
    if isinstance(value, types) and (kind == _FLAG or not isinstance(value, bool)):
        return value
    raise ValueError(f"{what} must be {kind}, got {value!r}")
