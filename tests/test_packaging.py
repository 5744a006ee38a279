"""Fast checks of the desktop packaging recipes (packaging/); the build itself (python3 packaging/build.py) and the
artefact smoke test (packaging/debian/smoke_test.sh) run outside the test suite, see packaging/README.md."""

from __future__ import annotations

import configparser
import importlib.util
import os
import sys
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGING = ROOT / "packaging"


def _module(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def test_spec_collects_medstation_data_and_lazily_imported_modules():
    spec = (PACKAGING / "pyinstaller" / "medstation.spec").read_text()
    assert 'collect_data_files("medstation"' in spec
    assert 'collect_submodules("medstation"' in spec and 'collect_submodules("monai"' in spec
    for needed in ("pydicom.pixels", "pylibjpeg", "fhir.resources.R4B", "captum", "SimpleITK", "sklearn"):
        assert needed in spec
    assert '"tkinter"' in spec


def test_pyinstaller_finds_the_shipped_models_and_sample_study():
    hooks = pytest.importorskip("PyInstaller.utils.hooks")
    sources = {Path(source).resolve() for source, _ in hooks.collect_data_files("medstation",
                                                                               include_py_files=False)}
    data = ROOT / "medstation" / "data"
    for bundle in ("pneumonia-cxr-resnet18", "icu-trend-lstm", "cxr-gan"):
        assert (data / "models" / bundle / "models" / "model.pt").resolve() in sources
    assert (data / "resources" / "sample" / "images" / "sample-01.dcm").resolve() in sources


def test_desktop_entry_is_well_formed():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(PACKAGING / "debian" / "medstation.desktop")
    section = entry["Desktop Entry"]
    assert section["Type"] == "Application" and section["Name"] == "MedStation"
    assert section["Exec"].split()[0] == "medstation" and section["Icon"] == "medstation"
    assert section["Categories"].endswith(";") and section["MimeType"].endswith(";")
    assert (PACKAGING / "icons" / "medstation.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_control_file_is_well_formed():
    text = (PACKAGING / "debian" / "control.in").read_text()
    for key, value in {"VERSION": "0.1.0", "ARCH": "amd64", "INSTALLED_SIZE": "1000",
                       "DEPENDS": "libxcb-cursor0, libegl1", "EDITION": "CPU"}.items():
        text = text.replace(f"@{key}@", value)
    assert "@" not in text.replace("<medstation@localhost>", "")
    control = Parser().parsestr(text)
    for field in ("Package", "Version", "Architecture", "Maintainer", "Depends", "Description", "Installed-Size"):
        assert control[field], field
    description = text.split("Description: ", 1)[1].splitlines()
    assert all(line.startswith(" ") for line in description[1:]), "description continuation lines start with a space"


def test_deb_depends_on_qt_xcb_libraries_and_not_on_base_packages():
    build_deb = _module(PACKAGING / "debian" / "build_deb.py")
    assert {"libxcb-cursor0", "libxkbcommon-x11-0", "libegl1"} <= set(build_deb.ALWAYS)
    assert not set(build_deb.ALWAYS) & build_deb.BASE
    assert build_deb.PREFIX == "opt/medstation"


def test_smoke_test_and_installer_recipes_exist():
    assert os.access(PACKAGING / "debian" / "smoke_test.sh", os.X_OK)
    nsis = (PACKAGING / "windows" / "medstation.nsi").read_text()
    assert 'Section "Uninstall"' in nsis and "WriteUninstaller" in nsis
    assert "$SMPROGRAMS" in nsis and "OpenWithProgids" in nsis
    assert "hdiutil create" in (PACKAGING / "macos" / "make_dmg.sh").read_text()
    for platform in ("linux", "windows", "macos"):
        workflow = (ROOT / ".github" / "workflows" / f"desktop-{platform}.yml").read_text()
        assert "packaging/build.py" in workflow and "runs-on:" in workflow


@pytest.mark.parametrize(("flag", "driver", "platform", "cpu"), [
    (None, False, "linux", True),
    (None, True, "linux", False),
    ("cpu", True, "linux", True),
    ("gpu", False, "linux", False),
    (None, False, "darwin", False),
])
def test_bootstrap_installs_the_cpu_torch_without_an_nvidia_driver(monkeypatch, flag, driver, platform, cpu):
    bootstrap = _module(PACKAGING / "bootstrap.py")
    monkeypatch.setattr(bootstrap, "has_nvidia_driver", lambda: driver)
    monkeypatch.setattr(bootstrap.sys, "platform", platform)
    assert bootstrap.wants_cpu_torch(flag) is cpu
