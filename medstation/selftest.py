"""Built-in checks of an installation: ``medstation self-test`` and Help > Run self-test.

They run on what ships in the package (medstation/data), so they hold in a checkout, an installed wheel and the
frozen desktop build alike: the libraries import, the compute device answers, every shipped model's weights match
their recorded checksum and each model predicts once on the bundled samples, the sample study reads, a slice
renders offscreen, a NIfTI file is written and read back, and a Qt window draws.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REQUIRED_MODULES = {
    "numpy": "numpy",
    "PySide6": "PySide6-Essentials",
    "pyqtgraph": "pyqtgraph",
    "pydicom": "pydicom",
    "nibabel": "nibabel",
    "SimpleITK": "SimpleITK",
    "torch": "torch",
    "monai": "monai",
    "captum": "captum",
    "sklearn": "scikit-learn",
    "fhir.resources": "fhir.resources",
}

SAMPLE_TIMELINE = ("timelines", "150848.txt")


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    seconds: float

    def as_dict(self) -> dict:
        return {"name": self.name, "ok": self.ok, "detail": self.detail, "seconds": round(self.seconds, 3)}


def _sample(*parts: str) -> Path:
    from medstation.resources import resource_path

    return resource_path("sample", *parts)


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


def check_model_checksums() -> str:
    """Every shipped bundle opens and its weights match the sha256 in its metadata."""
    from medstation.engine.bundles import list_bundles
    from medstation.engine.families import FAMILIES
    from medstation.resources import installed_models_dir

    entries = list_bundles([("shipped", installed_models_dir())])
    bad = [f"{entry.name}: {entry.error}" for entry in entries if not entry.valid]
    if bad:
        raise RuntimeError("; ".join(bad))
    names = {entry.name for entry in entries}
    missing = sorted(family.shipped for family in FAMILIES if family.shipped not in names)
    if missing:
        raise RuntimeError(f"shipped model missing: {', '.join(missing)}")
    return f"{len(entries)} bundles, weights match their sha256: {', '.join(sorted(names))}"


def check_sample_study() -> str:
    """The bundled sample study (DICOM) reads as a volume."""
    from medstation.io.open_study import open_image

    volume = open_image(_sample("images")).volume
    return f"{volume.info.modality or 'image'} {'x'.join(map(str, volume.array.shape))} from {_sample('images').name}/"


def check_classifier() -> str:
    """The shipped classifier predicts on every image of the sample study."""
    from medstation.engine.classifier import load_classifier, prepare_batch
    from medstation.engine.families import FAMILIES
    from medstation.io.images import image_files_in
    from medstation.io.open_study import open_image

    classifier = load_classifier(FAMILIES["classifier"].shipped)
    paths = image_files_in(_sample("images"))
    images = [classifier.image_input(open_image(path).volume, str(path)) for path in paths]
    probabilities = classifier.probabilities(prepare_batch(images, classifier.input_spec))
    labels = classifier.decide(probabilities)
    if len(labels) != len(paths) or not (probabilities >= 0).all():
        raise RuntimeError(f"{len(labels)} predictions for {len(paths)} images")
    counts = {label: list(labels).count(label) for label in classifier.labels}
    return f"{classifier.name}: {len(paths)} sample images, " + ", ".join(f"{n} {label}" for label, n in counts.items())


def check_forecaster() -> str:
    """The shipped forecaster forecasts a bundled sample patient."""
    import math

    from medstation.engine.families import FAMILIES
    from medstation.engine.forecaster import load_forecaster
    from medstation.io.timelines.reading import load_timelines

    timelines, _report = load_timelines(_sample(*SAMPLE_TIMELINE))
    model = load_forecaster(FAMILIES["forecaster"].shipped)
    forecast = model.forecast(timelines[0])
    risk = forecast.risk[-1][1] if forecast.risk else float("nan")
    if not math.isfinite(risk) or not 0 <= risk <= 1:
        raise RuntimeError(f"risk of in-hospital death {risk} is not a probability")
    return f"{model.name}: patient {timelines[0].patient_id}, risk of in-hospital death {risk:.2f}"


def check_generator() -> str:
    """The shipped generator draws one synthetic image."""
    import numpy as np

    from medstation.engine.families import FAMILIES
    from medstation.engine.generator import load_generator

    batch = load_generator(FAMILIES["generator"].shipped).sample(1, None, 0)
    image = np.asarray(batch.images[0])
    if not np.isfinite(image).all() or image.std() == 0:
        raise RuntimeError("the generated image is blank or not finite")
    return f"{batch.model}: one {'x'.join(map(str, image.shape))} sample ({batch.labels[0]}), seed {batch.seed}"


def check_nifti_round_trip() -> str:
    """The sample study written as NIfTI reads back with the same voxels."""
    import numpy as np

    from medstation.io.nifti import write_volume
    from medstation.io.open_study import open_image

    volume = open_image(_sample("images")).volume
    with tempfile.TemporaryDirectory(prefix="medstation-self-test-") as folder:
        written = write_volume(volume, Path(folder) / "sample.nii.gz")
        back = open_image(written).volume
    if back.array.shape != volume.array.shape or not np.allclose(back.array, volume.array):
        raise RuntimeError(f"read back {back.array.shape}, wrote {volume.array.shape}")
    return f"wrote and read back {'x'.join(map(str, volume.array.shape))} voxels"


def check_render() -> str:
    """A slice of the sample study renders as the viewer draws it (offscreen when no application runs)."""
    from PySide6.QtGui import QImage

    from medstation.io.open_study import open_image
    from medstation.ui.viewer.render import render_png

    volume = open_image(_sample("images")).volume
    with tempfile.TemporaryDirectory(prefix="medstation-self-test-") as folder:
        out = render_png(volume, Path(folder) / "slice.png")
        image = QImage(str(out))
    if image.isNull():
        raise RuntimeError("the rendered PNG does not read")
    return f"axial slice {image.width()}x{image.height()} PNG"


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
    ("model checksums", check_model_checksums),
    ("sample study", check_sample_study),
    ("classifier", check_classifier),
    ("forecaster", check_forecaster),
    ("generator", check_generator),
    ("nifti round trip", check_nifti_round_trip),
    ("render slice", check_render),
    ("qt window", check_qt_window),
]

QT_CHECKS = frozenset({"render slice", "qt window"})
"""Checks that draw with Qt widgets: in the workstation they run on its main thread, the others in a job."""


def run_self_test(
    checks: list[tuple[str, Callable[[], str]]] | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> list[CheckResult]:
    """Run every check (default :data:`CHECKS`); a failing check is reported, never raised."""
    chosen = CHECKS if checks is None else checks
    results = []
    for number, (name, check) in enumerate(chosen):
        if progress is not None:
            progress(number / len(chosen), name)
        started = time.perf_counter()
        try:
            detail, ok = check(), True
        except Exception as error:  # a self-test reports every failure, whatever its type
            detail, ok = f"{type(error).__name__}: {error}", False
        results.append(CheckResult(name, ok, detail, time.perf_counter() - started))
    return results


def run_background_checks(progress: Callable[[float, str], None] | None = None, cancel=None) -> list[CheckResult]:
    """The checks that need no Qt widget, for a job of the workstation (``cancel`` is not polled: they are short)."""
    return run_self_test([(name, check) for name, check in CHECKS if name not in QT_CHECKS], progress)


def run_qt_checks() -> list[CheckResult]:
    """The checks that draw with Qt widgets; on the workstation's main thread."""
    return run_self_test([(name, check) for name, check in CHECKS if name in QT_CHECKS])


def format_results(results: list[CheckResult]) -> str:
    lines = [f"{'PASS' if r.ok else 'FAIL'}  {r.name:<17} {r.detail}" for r in results]
    passed = sum(r.ok for r in results)
    lines.append(f"{passed}/{len(results)} checks passed")
    return "\n".join(lines)
