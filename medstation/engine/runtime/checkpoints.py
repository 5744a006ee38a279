"""Training checkpoints on disk: written atomically (:mod:`medstation.atomic_files`), read back with
``weights_only=True``; each failure one line naming the file."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from medstation.atomic_files import write_atomically
from medstation.engine.runtime.libraries import load_torch
from medstation.errors import ModelError

torch = load_torch()


def write_checkpoint(path: Path, document: dict[str, Any]) -> None:
    """Write ``document`` to ``path`` atomically."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, lambda temporary: torch.save(document, temporary))
    except OSError as error:
        raise ModelError(f"{path}: cannot write the training checkpoint ({error})") from None


def read_checkpoint(path: Path) -> Any:
    """What ``path`` holds; ModelError when it is missing or not a readable checkpoint."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ModelError(f"{path}: no checkpoint to resume from; start without --resume") from None
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError) as error:
        raise ModelError(f"{path}: not a readable training checkpoint ({str(error).strip()[:200]})") from None
