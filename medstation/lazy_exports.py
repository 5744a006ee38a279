"""Package exports imported on first use (PEP 562), so importing a package costs nothing until a name is used.

A family package (``medstation.engine.classifier``, ...) names its verbs once, by module::

    __all__, __getattr__, __dir__ = lazy_exports(__name__, {
        "model": ("Classifier", "load_classifier"),
        "training": ("train_classifier",),
    })

``from medstation.engine.classifier import load_classifier`` then imports ``medstation.engine.classifier.model``
and nothing else: ``medstation --help`` stays free of numpy and torch, and two packages that use each other's
verbs never meet half-initialised. Each use looks the name up in its module again, so a test that replaces a
module attribute is seen by every caller.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, tuple[str, ...]]
) -> tuple[list[str], Callable[[str], Any], Callable[[], list[str]]]:
    """``__all__``, ``__getattr__`` and ``__dir__`` for ``package``, whose ``exports`` map each of its modules to
    the names it lends the package."""
    owner: dict[str, str] = {}
    for module, names in exports.items():
        for name in names:
            if name in owner:
                raise ValueError(f"{package}: {name!r} is exported by both .{owner[name]} and .{module}")
            owner[name] = module

    def __getattr__(name: str) -> Any:
        module = owner.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(owner))

    return list(owner), __getattr__, __dir__
