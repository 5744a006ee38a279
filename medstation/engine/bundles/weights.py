"""A bundle's ``models/model.pt``: a state_dict, saved with its sha256 and loaded only after checking it.

Loading goes through ``torch.load(..., weights_only=True)``, whose unpickler accepts tensors and plain containers
only: a pickle that would import or call anything else is refused before it can run.
"""

from __future__ import annotations

import hashlib
import pickle
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from medstation.engine.runtime import load_torch
from medstation.errors import ModelError

_CHUNK = 1 << 20
_REFUSED_GLOBAL = re.compile(r"Unsupported global: GLOBAL (\S+)")
_WEIGHTS_ONLY_DETAIL = re.compile(r"WeightsUnpickler error:\s*([^\n]+)")


def _refusal(path: Path, error: Exception) -> ModelError:
    """The error for a file torch's weights-only unpickler refused, saying what the file asked for."""
    wanted = _REFUSED_GLOBAL.search(str(error))
    if wanted:
        return ModelError(
            f"{path}: refused to load: the file calls {wanted.group(1)}, which weights never need and which could "
            "run code; use weights only from a source you trust"
        )
    detail = _WEIGHTS_ONLY_DETAIL.search(str(error))
    return ModelError(
        f"{path}: refused to load: not a plain PyTorch weights file ({detail.group(1) if detail else error})"
    )


def _unreadable(path: Path, error: Exception) -> ModelError:
    """The error for a weights file torch could not read, with the first line of torch's reason."""
    lines = str(error).strip().splitlines()
    reason = lines[0] if lines else "the file ended early"
    return ModelError(f"{path}: not a readable PyTorch weights file ({reason}); reinstall the bundle")


def sha256_of(path: Path) -> str:
    """The sha256 of a file's bytes, as 64 lowercase hexadecimal digits."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def check_state_dict(state_dict: Mapping[str, Any], path: Path) -> None:
    """ModelError naming ``path`` unless ``state_dict`` maps parameter names to tensors."""
    torch = load_torch()
    for key, value in state_dict.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise ModelError(f"{path}: a state_dict maps names to tensors; {key!r} holds {type(value).__name__}")


def save_state_dict(state_dict: Mapping[str, Any], path: Path) -> str:
    """Write the tensors of ``state_dict`` to ``path``; returns the file's sha256."""
    check_state_dict(state_dict, path)
    load_torch().save({key: value.detach().cpu() for key, value in state_dict.items()}, path)
    return sha256_of(path)


def verify_weights(path: Path, expected_sha256: str) -> None:
    """ModelError unless ``path`` exists and its sha256 is ``expected_sha256``."""
    try:
        actual = sha256_of(path)
    except FileNotFoundError:
        raise ModelError(f"{path}: model weights are missing; reinstall the bundle") from None
    except OSError as error:
        raise ModelError(f"{path}: cannot read model weights ({error})") from None
    if actual != expected_sha256:
        raise ModelError(
            f"{path}: sha256 {actual} does not match {expected_sha256} recorded in the bundle metadata; "
            "the weights are damaged or were replaced, reinstall the bundle"
        )


def load_state_dict(path: Path, expected_sha256: str, map_location: str = "cpu") -> dict[str, Any]:
    """The state_dict in ``path`` after its checksum is verified; anything but named tensors is refused."""
    verify_weights(path, expected_sha256)
    torch = load_torch()
    try:
        loaded = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        raise _refusal(path, error) from None
    except Exception as error:  # damaged bytes can fail anywhere in torch's reader
        raise _unreadable(path, error) from None
    if not isinstance(loaded, Mapping) or not all(
        isinstance(key, str) and isinstance(value, torch.Tensor) for key, value in loaded.items()
    ):
        raise ModelError(f"{path}: not a state_dict (a mapping of parameter names to tensors)")
    return dict(loaded)


def load_into(network, state: Mapping, path: Path, what: str) -> None:
    """Load the weights ``state`` read from ``path`` into ``network`` (the ``what``); ModelError if they belong
    to another network, naming the file and, briefly, the first difference."""
    expected, found = set(network.state_dict()), set(state)
    if expected != found:
        missing, unknown = sorted(expected - found), sorted(found - expected)
        raise ModelError(
            f"{path}: not weights of the {what}: {len(missing)} of its {len(expected)} tensors are missing and "
            f"{len(unknown)} are not its own (first: {(missing or unknown)[0]!r}); use the bundle made for it"
        )
    try:
        network.load_state_dict(state)
    except RuntimeError as error:
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        reason = lines[-1] if lines else "shapes differ"
        raise ModelError(f"{path}: the weights do not fit the {what} ({reason})") from None
