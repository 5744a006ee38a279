"""Model bundles on disk in the MONAI bundle layout (docs/design.md §4): open one, write one atomically.

::

    <name>/configs/metadata.json   checked by :mod:`medstation.engine.bundles.metadata`
    <name>/models/model.pt         state_dict only, checked against the sha256 in the metadata
    <name>/docs/README.md          model card
"""

from __future__ import annotations

import copy
import json
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medstation.engine.bundles.metadata import BundleMetadata, read_metadata, validate_metadata
from medstation.engine.bundles.weights import check_state_dict, load_state_dict, save_state_dict, verify_weights
from medstation.errors import ModelError

METADATA_FILE = Path("configs", "metadata.json")
WEIGHTS_FILE = Path("models", "model.pt")
CARD_FILE = Path("docs", "README.md")


@dataclass(frozen=True)
class Bundle:
    """One model bundle whose metadata has been checked; weights are checked when loaded."""

    root: Path
    metadata: BundleMetadata

    @property
    def name(self) -> str:
        return self.root.name

    @property
    def metadata_path(self) -> Path:
        return self.root / METADATA_FILE

    @property
    def weights_path(self) -> Path:
        return self.root / WEIGHTS_FILE

    @property
    def card_path(self) -> Path:
        return self.root / CARD_FILE

    def verify_weights(self) -> None:
        """ModelError unless the weights file matches the sha256 in the metadata."""
        verify_weights(self.weights_path, self.metadata.weights_sha256)

    def load_state_dict(self, map_location: str = "cpu") -> dict[str, Any]:
        """The network's state_dict, after the checksum and with ``torch.load(weights_only=True)``."""
        return load_state_dict(self.weights_path, self.metadata.weights_sha256, map_location)

    def model_card(self) -> str:
        """The text of ``docs/README.md``."""
        try:
            return self.card_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise ModelError(f"{self.card_path}: cannot read the model card ({error})") from None


def open_bundle(root: Path | str) -> Bundle:
    """The bundle in folder ``root``: metadata checked, weights file and model card present."""
    root = Path(root)
    if not root.is_dir():
        raise ModelError(f"{root}: no such model bundle folder")
    metadata = read_metadata(root / METADATA_FILE)
    for part, what in ((WEIGHTS_FILE, "model weights"), (CARD_FILE, "model card")):
        if not (root / part).is_file():
            raise ModelError(f"{root / part}: {what} file is missing; the bundle is incomplete")
    return Bundle(root, metadata)


def _write_contents(
    folder: Path, root: Path, metadata: Mapping[str, Any], state_dict: Mapping[str, Any], card: str
) -> None:
    """Fill ``folder`` with the bundle that will become ``root``; errors name the files under ``root``."""
    for part in (METADATA_FILE, WEIGHTS_FILE, CARD_FILE):
        (folder / part).parent.mkdir(parents=True, exist_ok=True)
    digest = save_state_dict(state_dict, folder / WEIGHTS_FILE)
    document = copy.deepcopy(dict(metadata))
    weights = dict(document.get("weights") or {})
    weights["sha256"] = digest
    document["weights"] = weights
    checked = validate_metadata(document, root / METADATA_FILE)
    (folder / METADATA_FILE).write_text(json.dumps(checked.document, indent=2) + "\n", encoding="utf-8")
    (folder / CARD_FILE).write_text(card, encoding="utf-8")


def write_bundle(
    root: Path | str,
    metadata: Mapping[str, Any],
    state_dict: Mapping[str, Any],
    model_card: str,
    overwrite: bool = False,
) -> Bundle:
    """Write a complete bundle to ``root`` and return it opened.

    ``metadata`` is the ``metadata.json`` document without ``weights.sha256``, which is computed here. The bundle
    is assembled in a hidden temporary folder beside ``root`` and renamed into place, so ``root`` never holds a
    half-written bundle. An existing ``root`` is replaced only when ``overwrite`` is true.
    """
    root = Path(root)
    if root.exists() and not (overwrite and root.is_dir()):
        raise ModelError(f"{root}: already exists; choose another output folder or allow overwriting a bundle")
    check_state_dict(state_dict, root / WEIGHTS_FILE)
    try:
        root.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{root.name}.tmp-", dir=root.parent))
    except OSError as error:
        raise ModelError(f"{root}: cannot write the model bundle ({error})") from None
    retired = root.parent / f"{staging.name}-old"
    try:
        _write_contents(staging, root, metadata, state_dict, model_card)
        if root.exists():
            root.rename(retired)
        try:
            staging.rename(root)
        except OSError:
            if retired.exists():
                retired.rename(root)
            raise
    except OSError as error:
        raise ModelError(f"{root}: cannot write the model bundle ({error})") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(retired, ignore_errors=True)
    return open_bundle(root)
