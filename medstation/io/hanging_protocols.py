"""The user's hanging protocols: ``hanging-protocols.json`` in the user data folder, an editable list of rules.

The file is written with :data:`~medstation.core.hanging_protocols.DEFAULT_PROTOCOLS` the first time it is needed,
and read again each time a series opens, so an edit counts from the next opening. The first rule that matches
wins. A file that cannot be read, is not valid JSON, or holds a rule that does not make sense gives the default
rules with one warning line (stderr and the log), naming the file and what is wrong; the file itself is left as
it is for the user to mend (delete it to get the defaults written again). The format::

    {
      "version": 1,
      "protocols": [
        {"name": "CT head",
         "match": {"modality": ["CT"], "body_part": ["HEAD", "BRAIN"], "min_images": 2},
         "layout": "1x3", "window": "Brain", "compare_with_prior": false},
        ...
      ]
    }

``match`` keys (each optional; all that are set must hold): ``modality`` and ``body_part`` (a text or a list,
any one of them, case-insensitive), ``description`` (a part of the SeriesDescription, case-insensitive),
``description_regex`` (a regular expression searched in it, case-insensitive), ``min_images`` and ``max_images``
(inclusive). ``layout``: ``single``, ``1x3`` or ``2x2`` (null keeps the viewer's); ``window``: a window preset's
name (``Brain``, ``Subdural``, ``Lung``, ``Bone``, ``Soft tissue``, ``Liver`` for CT; ``Auto``, ``Contrast``, ...
otherwise; null keeps the image's own window); ``compare_with_prior``: show the previous study beside it.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from medstation.atomic_files import write_text_atomically
from medstation.core.hanging_protocols import (
    DEFAULT_PROTOCOLS,
    VIEW_LAYOUTS,
    Protocol,
    protocol_from_record,
    protocol_record,
)
from medstation.errors import MedStationError
from medstation.paths import user_data_dir
from medstation.settings import warn_once

PROTOCOLS_FILE_NAME = "hanging-protocols.json"
FORMAT_VERSION = 1
FALLBACK = "the default hanging protocols"

log = logging.getLogger(__name__)


def protocols_file() -> Path:
    """``hanging-protocols.json`` in the user data folder (``MEDSTATION_HOME`` overrides the folder)."""
    return user_data_dir() / PROTOCOLS_FILE_NAME


ABOUT = ("MedStation hanging protocols: the first rule whose 'match' holds for a series sets its layout "
         f"({', '.join(VIEW_LAYOUTS)}) and window (a preset's name) when it opens. Match keys: modality, body_part, "
         "description (part of the series description), description_regex, min_images, max_images; all optional, "
         "case-insensitive. Delete this file to get the default rules back.")


def protocols_text(protocols: tuple[Protocol, ...] | list[Protocol] = DEFAULT_PROTOCOLS) -> str:
    """The file's text for ``protocols``: one block per rule, one line per key, for editing by hand."""
    blocks = []
    for protocol in protocols:
        lines = [f"      {json.dumps(key)}: {json.dumps(value)}" for key, value in protocol_record(protocol).items()]
        blocks.append("    {\n" + ",\n".join(lines) + "\n    }")
    head = f'{{\n  "about": {json.dumps(ABOUT)},\n  "version": {FORMAT_VERSION},\n  "protocols": [\n'
    return head + ",\n".join(blocks) + "\n  ]\n}\n"


def load_protocols(path: Path | None = None) -> list[Protocol]:
    """The user's rules, first match first; the defaults (written to the file if there is none) when the file is
    missing, and the defaults with one warning line when it is damaged. Never raises."""
    try:
        path = path or protocols_file()
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        _write_defaults(path)
        return list(DEFAULT_PROTOCOLS)
    except (OSError, UnicodeDecodeError, MedStationError) as error:
        where = path or Path(PROTOCOLS_FILE_NAME)
        warn_once(where, f"cannot be read ({getattr(error, 'strerror', None) or error})", FALLBACK)
        return list(DEFAULT_PROTOCOLS)
    try:
        return parse_protocols(text)
    except ValueError as error:
        warn_once(path, str(error), FALLBACK)
        return list(DEFAULT_PROTOCOLS)


def parse_protocols(text: str) -> list[Protocol]:
    """The rules of a file's text; ValueError saying what is wrong (invalid JSON, a rule that makes no sense)."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"is not valid JSON ({error.msg}, line {error.lineno})") from error
    if not isinstance(document, dict) or not isinstance(document.get("protocols"), list):
        raise ValueError('holds no "protocols" list')
    try:
        return [protocol_from_record(record, number) for number, record in enumerate(document["protocols"], 1)]
    except ValueError as error:
        raise ValueError(f"has a rule that does not make sense: {error}") from error


def _write_defaults(path: Path) -> None:
    try:
        write_text_atomically(path, protocols_text())
    except OSError as error:
        warn_once(path, f"cannot be written ({error.strerror or error})", FALLBACK)
        return
    log.info("wrote the default hanging protocols to %s", path)
