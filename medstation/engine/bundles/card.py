"""What every family's metadata document and model card (``docs/README.md``) share, and writing both into a bundle.

Each family's ``card.py`` makes its ``metadata.json`` document and writes its card from that document alone, so a
card can be written again from a bundle's metadata. The parts every card has are made here: the title, what the
model is, its training data with licence and citation, the recorded training command, tables of figures and the
limits; the family adds how it was trained and its own sections of figures. A card is built as a list of lines in
which every part ends with an empty line, so parts follow one another with one blank line between them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from medstation.atomic_files import write_text_atomically
from medstation.engine.bundles.metadata import validate_metadata
from medstation.engine.bundles.store import Bundle, open_bundle, write_bundle
from medstation.engine.runtime import engine_module, load_torch
from medstation.errors import ModelError

BUNDLE_VERSION = "1.0.0"
"""The ``version`` of a freshly trained bundle."""
NO_COMMAND = "(called from Python)"
"""What a card shows for the training command of a run started from Python rather than the command line."""

CardWriter = Callable[[str, Mapping[str, Any]], str]
"""A family's card: ``(bundle name, metadata document) -> Markdown``."""


def library_versions() -> dict[str, str]:
    """``monai_version`` and ``pytorch_version`` (without its local build tag) as a bundle's metadata records them."""
    return {
        "monai_version": engine_module("monai").__version__,
        "pytorch_version": load_torch().__version__.split("+")[0],
    }


def training_data(
    description: Mapping[str, str | None] | None, source: str, splits: Mapping[str, int]
) -> dict[str, Any]:
    """The metadata's ``training_data``: the data's name (``source`` where none is given), ``source``, the images per
    split, and the ``licence``, ``citation`` and ``population`` (who the images are of) of ``description`` where it
    gives them."""
    described = {key: value for key, value in (description or {}).items() if value}
    return {
        "name": described.get("name") or source,
        "source": source,
        "splits": dict(splits),
        **{key: described[key] for key in ("licence", "citation", "population") if key in described},
    }


def named_splits(data: Mapping[str, Any]) -> str:
    """``training_data`` as the Data section opens: its name, its source and the size of each split."""
    splits = ", ".join(f"{split} {count}" for split, count in data["splits"].items())
    return f"{data['name']} (`{data['source']}`), splits: {splits}"


def table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    """A Markdown table: its header, the rule under it and one line per row of cells."""
    return [
        "| " + " | ".join(header) + " |",
        "|---" * len(header) + "|",
        *("| " + " | ".join(f"{cell}" for cell in row) + " |" for row in rows),
    ]


def model_card(
    name: str,
    overview: Sequence[str],
    data_summary: str,
    data: Mapping[str, Any],
    command: str | None,
    training: Sequence[str],
    sections: Sequence[str],
    limits: str,
    limits_heading: str = "Limits",
) -> str:
    """The card of bundle ``name``.

    Parameters
    ----------
    overview
        What the model is and what it takes, under the title.
    data_summary, data
        The first line of the Data section, and the metadata's ``training_data`` whose licence and citation follow.
    command, training
        The recorded training command (None or empty: called from Python), and how the model was trained.
    sections
        The family's sections of figures (metrics, quality, evaluation).
    limits, limits_heading
        The text of the closing section and its heading.

    ``overview``, ``training`` and ``sections`` are lines each part of which ends with an empty line.
    """
    lines = [f"# {name}", "", *overview, "## Data", "", data_summary]
    for label, key in (("Licence", "licence"), ("Cite", "citation")):
        if data.get(key):
            lines += ["", f"{label}: {data[key]}."]
    lines += ["", "## Training", "", "```", command or NO_COMMAND, "```", "", *training, *sections]
    lines += [f"## {limits_heading}", "", limits, ""]
    return "\n".join(lines)


def write_model_bundle(
    root: Path | str,
    metadata: Mapping[str, Any],
    state_dict: Mapping[str, Any],
    card: CardWriter,
    overwrite: bool = False,
) -> Bundle:
    """Write a complete bundle to ``root`` (:func:`~medstation.engine.bundles.store.write_bundle`), its model card
    written by ``card`` from ``metadata``; returns it opened."""
    return write_bundle(root, metadata, state_dict, card(Path(root).name, metadata), overwrite)


def record_in_bundle(bundle: Bundle, document: Mapping[str, Any], card: CardWriter) -> Bundle:
    """Replace ``bundle``'s metadata by ``document`` (checked first) and its card by the one ``card`` writes from
    it, each file atomically; the weights are not touched. Returns the bundle opened again."""
    validate_metadata(document, bundle.metadata_path)
    try:
        write_text_atomically(bundle.metadata_path, json.dumps(document, indent=2) + "\n")
        write_text_atomically(bundle.card_path, card(bundle.name, document))
    except OSError as error:
        raise ModelError(f"{bundle.root}: cannot record the evaluation ({error})") from None
    return open_bundle(bundle.root)
