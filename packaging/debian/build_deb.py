"""The Debian package of the onedir build: /opt/medstation, a ``medstation`` launcher, desktop entry and icon.

``Depends:`` is computed from the onedir itself: every shared library its executables, libraries and Qt plugins
load that the onedir does not carry is looked up with ``ldd`` and mapped to its Debian package with ``dpkg -S``.
Called by packaging/build.py; ``python3 packaging/debian/build_deb.py dist/medstation VERSION`` runs it alone.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ICON = HERE.parent / "icons" / "medstation.png"
PREFIX = "opt/medstation"
# Loaded with dlopen (not seen by ldd) by the Qt xcb platform plugin, or needed by any desktop Qt application.
ALWAYS = ("libxkbcommon-x11-0", "libxcb-cursor0", "libxcb-icccm4", "libxcb-image0", "libxcb-keysyms1",
          "libxcb-randr0", "libxcb-render-util0", "libxcb-shape0", "libxcb-xinerama0", "libxcb-xkb1",
          "libfontconfig1", "libfreetype6", "libegl1", "libgl1", "libdbus-1-3")
# Part of every Debian/Ubuntu system (Essential or priority required): no need to name them.
BASE = {"libc6", "libgcc-s1", "libstdc++6", "zlib1g", "libzstd1", "liblzma5", "libbz2-1.0", "libselinux1",
        "libpcre2-8-0", "libcrypt1", "libuuid1", "libmount1", "libblkid1", "libsystemd0", "libcap2", "libacl1"}


def _elf_files(root: Path) -> list[Path]:
    files = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink() and (".so" in path.name or os.access(path, os.X_OK)):
            with path.open("rb") as handle:
                if handle.read(4) == b"\x7fELF":
                    files.append(path)
    return files


def system_libraries(onedir: Path) -> tuple[set[str], set[str]]:
    """Paths of the system libraries the onedir's ELF files load, and the sonames ldd could not find."""
    found: set[str] = set()
    missing: set[str] = set()
    # The onedir's own libraries sit in several folders (torch/lib, PySide6/Qt/lib, ...): let ldd find them all.
    folders = sorted({str(path.parent) for path in onedir.rglob("*.so*")})
    env = dict(os.environ, LD_LIBRARY_PATH=os.pathsep.join(folders))
    for path in _elf_files(onedir):
        result = subprocess.run(["ldd", str(path)], capture_output=True, text=True, env=env)
        for line in result.stdout.splitlines():
            match = re.match(r"\s*(\S+) => (not found|(\S+))", line)
            if not match:
                continue
            if match.group(2) == "not found":
                missing.add(match.group(1))
            elif not Path(match.group(3)).resolve().is_relative_to(onedir.resolve()):
                found.add(match.group(3))
    return found, missing


def packages_of(paths: set[str]) -> set[str]:
    """Debian packages owning these files (multiarch suffixes removed)."""
    packages: set[str] = set()
    for path in sorted(paths):
        candidates = {path, str(Path(path).resolve())}
        candidates |= {c.replace("/usr/lib/", "/lib/", 1) for c in candidates if c.startswith("/usr/lib/")}
        candidates |= {"/usr" + c for c in candidates if c.startswith("/lib/")}
        for candidate in candidates:
            result = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
            if result.returncode == 0:
                packages |= {entry.split(":")[0].strip() for entry in result.stdout.split(": ")[0].split(",")}
                break
    return packages


def depends(onedir: Path, log: Callable[[str], None] = print) -> list[str]:
    found, missing = system_libraries(onedir)
    if missing:
        log(f"libraries not found on this machine (install them to compute Depends fully): {sorted(missing)}")
    return sorted((packages_of(found) | set(ALWAYS)) - BASE)


def build_deb(onedir: Path, out_dir: Path, version: str, edition: str = "cpu",
              log: Callable[[str], None] = print) -> Path:
    """Write ``out_dir/medstation_VERSION_ARCH.deb`` (the CUDA edition: ``medstation-cuda``) and return it."""
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()
    package = "medstation" if edition == "cpu" else "medstation-cuda"
    with tempfile.TemporaryDirectory(prefix="medstation-deb-") as tmp:
        root = Path(tmp) / "root"
        log(f"copying {onedir} to /{PREFIX}")
        shutil.copytree(onedir, root / PREFIX, symlinks=True)
        (root / "usr/bin").mkdir(parents=True)
        (root / "usr/bin/medstation").symlink_to(f"../../{PREFIX}/medstation")  # relative: works in any root
        applications = root / "usr/share/applications"
        applications.mkdir(parents=True)
        shutil.copy(HERE / "medstation.desktop", applications / "medstation.desktop")
        icons = root / "usr/share/icons/hicolor/256x256/apps"
        icons.mkdir(parents=True)
        shutil.copy(ICON, icons / "medstation.png")
        docs = root / f"usr/share/doc/{package}"
        docs.mkdir(parents=True)
        shutil.copy(HERE / "copyright", docs / "copyright")
        log("computing Depends with ldd and dpkg -S")
        installed_kib = sum(p.lstat().st_size for p in root.rglob("*") if p.is_file()) // 1024
        control = (HERE / "control.in").read_text()
        for key, value in {"VERSION": version, "ARCH": arch, "INSTALLED_SIZE": str(installed_kib),
                           "DEPENDS": ", ".join(depends(onedir, log)), "EDITION": edition.upper()}.items():
            control = control.replace(f"@{key}@", value)
        control = control.replace("Package: medstation", f"Package: {package}", 1)
        (root / "DEBIAN").mkdir()
        (root / "DEBIAN/control").write_text(control)
        for path in root.rglob("*"):
            if not path.is_symlink():
                path.chmod(0o755 if path.is_dir() or os.access(path, os.X_OK) else 0o644)
        out = out_dir / f"{package}_{version}_{arch}.deb"
        log(f"dpkg-deb --build ({out.name}, xz -3: a few percent larger than -6, twice as fast)")
        subprocess.run(["dpkg-deb", "--root-owner-group", "-Zxz", "-z3", "--threads-max=2", "--build", str(root),
                        str(out)], check=True, stdout=subprocess.DEVNULL)
    return out


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    print(build_deb(Path(sys.argv[1]), Path(sys.argv[1]).parent, sys.argv[2]))
