"""Built-in checks of an installation: ``medstation self-test`` and Help > Run self-test."""

from __future__ import annotations

import importlib
import importlib.metadata
import time
from collections.abc import Callable
from dataclasses import dataclass

REQUIRED_MODULES = {
    "numpy": "numpy",
    "PySide6": "PySide6-Essentials",
    "pyqtgraph": "pyqtgraph",
    "pydicom": "pydicom",
    "nibabel": "nibabel",
    "SimpleITK": "SimpleITK",
    "torch": "torch",
    "monai": "monai",
}


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    seconds: float

    def as_dict(self) -> dict:
        return {"name": self.name, "ok": self.ok, "detail": self.detail, "seconds": round(self.seconds, 3)}


def check_imports() -> str:
    """Every required library imports; returns their versions."""
    versions = []
    for module, distribution in REQUIRED_MODULES.items():
        importlib.import_module(module)
        versions.append(f"{module} {importlib.metadata.version(distribution)}")
    return ", ".join(versions)


def check_device() -> str:
    from medstation.engine.runtime.device import detect_device

    info = detect_device()
    return f"{info.label()} (chosen by {info.source})"


def check_training() -> str:
    """A small CNN learns a trivial task on the selected device."""
    from medstation.engine.runtime.smoke import run_training_check

    result = run_training_check()
    summary = (
        f"loss {result.first_loss:.3f} -> {result.last_loss:.4f}, accuracy {result.accuracy:.2f} "
        f"on {result.device} in {result.seconds:.1f} s"
    )
    if not result.learned:
        raise RuntimeError(f"the network did not learn: {summary}")
    return summary


def check_qt_window() -> str:
    """A Qt window can be created and drawn (offscreen when no application is running)."""
    from PySide6.QtWidgets import QApplication, QLabel

    app = QApplication.instance() or QApplication(["medstation-self-test", "-platform", "offscreen"])
    label = QLabel("MedStation self-test")
    label.resize(240, 60)
    label.setStyleSheet("background: black; color: white; font-size: 20px;")
    label.show()
    app.processEvents()
    image = label.grab().toImage()
    label.close()
    label.deleteLater()
    app.processEvents()
    lit = sum(
        image.pixelColor(x, y).lightness() > 128 for x in range(0, image.width(), 2) for y in range(image.height())
    )
    if lit == 0:
        raise RuntimeError("the window rendered no text")
    return f"rendered {image.width()}x{image.height()} on the '{app.platformName()}' platform"


CHECKS: list[tuple[str, Callable[[], str]]] = [
    ("imports", check_imports),
    ("device", check_device),
    ("torch training", check_training),
    ("qt window", check_qt_window),
]


def run_self_test() -> list[CheckResult]:
    """Run every check; a failing check is reported, never raised."""
    results = []
    for name, check in CHECKS:
        started = time.perf_counter()
        try:
            detail, ok = check(), True
        except Exception as error:  # a self-test reports every failure, whatever its type
            detail, ok = f"{type(error).__name__}: {error}", False
        results.append(CheckResult(name, ok, detail, time.perf_counter() - started))
    return results


def format_results(results: list[CheckResult]) -> str:
    lines = [f"{'PASS' if r.ok else 'FAIL'}  {r.name:<15} {r.detail}" for r in results]
    passed = sum(r.ok for r in results)
    lines.append(f"{passed}/{len(results)} checks passed")
    return "\n".join(lines)
