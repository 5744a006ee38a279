"""Shipped files (style sheets, sample study, model bundles) are package data: a plain wheel carries them."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import medstation
from medstation.resources import DATA_ROOT, installed_models_dir, resource_path

PACKAGE = Path(medstation.__file__).resolve().parent
SOURCE_TREE = PACKAGE.parent
SHIPPED_BUNDLES = ("pneumonia-cxr-resnet18", "icu-trend-lstm", "cxr-gan")


def test_shipped_files_are_found_inside_the_package():
    assert DATA_ROOT.parent == PACKAGE
    assert resource_path("styles", "dark.qss").is_file()
    assert len(list(resource_path("sample", "images").glob("sample-*.dcm"))) == 6
    assert len(list(resource_path("sample", "images").glob("cxr-*.dcm"))) == 12
    for name in SHIPPED_BUNDLES:
        assert (installed_models_dir() / name / "configs" / "metadata.json").is_file()


def test_a_plain_wheel_carries_the_bundles_and_the_sample_study(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(SOURCE_TREE / name, source / name)
    shutil.copytree(PACKAGE, source / "medstation", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
               "--disable-pip-version-check", "-w", str(tmp_path / "dist"), str(source)]
    built = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (tmp_path / "dist").glob("medstation-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())

    expected = {
        f"medstation/data/models/{name}/{part}"
        for name in SHIPPED_BUNDLES
        for part in ("configs/metadata.json", "models/model.pt", "docs/README.md")
    }
    expected |= {f"medstation/data/resources/sample/images/sample-0{i}.dcm" for i in range(1, 7)}
    expected |= {f"medstation/data/resources/sample/images/cxr-{i:02d}.dcm" for i in range(1, 13)}
    expected |= {"medstation/data/resources/styles/dark.qss", "medstation/data/resources/sample/timelines/150848.txt"}
    assert expected <= names, sorted(expected - names)
    shipped = {path.relative_to(SOURCE_TREE).as_posix() for path in DATA_ROOT.rglob("*") if path.is_file()}
    assert shipped <= names, sorted(shipped - names)
