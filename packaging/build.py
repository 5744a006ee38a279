"""Build MedStation as a desktop application: a PyInstaller onedir, a .tar.gz of it and (on Debian/Ubuntu) a .deb.

    python3 packaging/build.py                    CPU edition: dist/medstation/, dist/medstation-VERSION-*.tar.gz,
                                                  dist/medstation_VERSION_amd64.deb, dist/build-summary.{json,md}
    python3 packaging/build.py --edition cuda     CUDA edition: run it where .venv holds a CUDA build of torch
    python3 packaging/build.py --no-deb           onedir and .tar.gz only (what Windows/macOS runners do first)

Needs only Python 3.10+: it sets up .venv as packaging/bootstrap.py does, adds the ``packaging`` extra
(PyInstaller), freezes packaging/pyinstaller/medstation.spec and writes the size of every top-level folder of the
onedir to dist/build-summary.json and .md. PyInstaller cannot cross-build: each platform builds on its own runner.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DIST = ROOT / "dist"
WORK = ROOT / "build" / "pyinstaller"
ONEDIR = DIST / "medstation"
SPEC = HERE / "pyinstaller" / "medstation.spec"

sys.path.insert(0, str(HERE))
import bootstrap  # noqa: E402  (packaging/bootstrap.py sets up .venv)

STARTED = time.perf_counter()


def step(message: str) -> None:
    print(f"[build {time.perf_counter() - STARTED:6.0f} s] {message}", flush=True)


def venv_python(code: str) -> str:
    result = subprocess.run([str(bootstrap.PYTHON), "-c", code], check=True, capture_output=True, text=True)
    return result.stdout.strip()


def ensure_packaging_tools() -> None:
    """PyInstaller and its hooks in .venv (the ``packaging`` extra of pyproject.toml)."""
    missing = subprocess.run([str(bootstrap.PYTHON), "-c", "import PyInstaller, _pyinstaller_hooks_contrib"],
                             capture_output=True).returncode
    if missing:
        step("installing the packaging extra (PyInstaller) into .venv")
        subprocess.run([str(bootstrap.PYTHON), "-m", "pip", "install", "--disable-pip-version-check",
                        "-e", f"{ROOT}[packaging]"], check=True)


def check_edition(edition: str) -> str:
    """The torch build in .venv matches the edition asked for; returns its description."""
    cuda = venv_python("import torch; print(torch.version.cuda or '')")
    version = venv_python("import torch; print(torch.__version__)")
    if edition == "cuda" and not cuda:
        raise SystemExit(f"build: --edition cuda needs a CUDA build of torch in .venv; it holds torch {version}. "
                         "Install one first, e.g. .venv/bin/pip install torch --index-url "
                         "https://download.pytorch.org/whl/cu128")
    if edition == "cpu" and cuda:
        raise SystemExit(f"build: .venv holds torch {version} built for CUDA {cuda}; the CPU edition needs the CPU "
                         "build (python3 packaging/bootstrap.py --cpu, or pip install torch --index-url "
                         "https://download.pytorch.org/whl/cpu), or pass --edition cuda")
    return f"torch {version}" + (f" (CUDA {cuda})" if cuda else " (CPU)")


def freeze(edition: str) -> None:
    step(f"freezing {SPEC.relative_to(ROOT)} with PyInstaller (several minutes)")
    env = dict(os.environ, MEDSTATION_EDITION=edition, PYTHONNOUSERSITE="1")
    subprocess.run([str(bootstrap.PYTHON), "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
                    "--distpath", str(DIST), "--workpath", str(WORK), str(SPEC)], check=True, cwd=ROOT, env=env)


def strip_binaries(onedir: Path) -> None:
    """``strip --strip-unneeded`` the onedir's ELF libraries (torch's libraries lose about 130 MB), except those
    that auditwheel patched into the wheels' ``*.libs`` folders: strip makes their OpenBLAS unloadable."""
    if not sys.platform.startswith("linux") or shutil.which("strip") is None:
        return
    step("stripping shared libraries")
    for path in onedir.rglob("*"):
        if path.is_symlink() or not path.is_file() or any(part.endswith(".libs") for part in path.parts):
            continue
        with path.open("rb") as handle:
            if handle.read(4) != b"\x7fELF":
                continue
        if path.name == "medstation":  # the bootloader carries its archive after the ELF sections
            continue
        subprocess.run(["strip", "--strip-unneeded", str(path)], check=False, stderr=subprocess.DEVNULL)


def folder_size(path: Path) -> int:
    if path.is_file() or path.is_symlink():
        return path.lstat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def size_summary(onedir: Path) -> dict[str, int]:
    """Bytes per top-level entry of the onedir and of its _internal folder, largest first."""
    entries: dict[str, int] = {}
    for child in onedir.iterdir():
        if child.name == "_internal":
            for inner in child.iterdir():
                entries[f"_internal/{inner.name}"] = folder_size(inner)
        else:
            entries[child.name] = folder_size(child)
    return dict(sorted(entries.items(), key=lambda item: -item[1]))


def make_tarball(name: str) -> Path:
    out = DIST / f"{name}.tar.gz"
    step(f"writing {out.relative_to(ROOT)}")
    with tarfile.open(out, "w:gz", compresslevel=6) as tar:
        tar.add(ONEDIR, arcname="medstation")
    return out


def mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def write_summary(summary: dict) -> None:
    (DIST / "build-summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    lines = [f"# MedStation {summary['version']} {summary['edition']} build ({summary['platform']})", "",
             f"- {summary['torch']}, built in {summary['build_seconds']:.0f} s",
             f"- onedir `dist/medstation`: {mib(summary['onedir_bytes'])}"]
    lines += [f"- `{Path(path).name}`: {mib(size)}" for path, size in summary["artefacts"].items()]
    lines += ["", "| onedir entry | size |", "|---|---:|"]
    lines += [f"| `{name}` | {mib(size)} |" for name, size in summary["onedir_entries"].items() if size >= 2**20]
    small = sum(size for size in summary["onedir_entries"].values() if size < 2**20)
    lines.append(f"| everything under 1 MiB each | {mib(small)} |")
    (DIST / "build-summary.md").write_text("\n".join(lines) + "\n")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--edition", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--no-deb", action="store_true", help="skip the Debian package")
    parser.add_argument("--no-tar", action="store_true", help="skip the .tar.gz of the onedir")
    args = parser.parse_args(argv)

    step("setting up .venv")
    bootstrap.ensure_environment()
    ensure_packaging_tools()
    torch_build = check_edition(args.edition)
    version = venv_python("import medstation; print(medstation.__version__)")
    step(f"MedStation {version}, {args.edition} edition, {torch_build}")
    if ONEDIR.exists():
        shutil.rmtree(ONEDIR)
    freeze(args.edition)
    strip_binaries(ONEDIR)
    executable = ONEDIR / ("medstation.exe" if os.name == "nt" else "medstation")
    step("checking the frozen application: medstation --version, medstation self-test (offscreen)")
    subprocess.run([str(executable), "--version"], check=True)
    with tempfile.TemporaryDirectory(prefix="medstation-build-home-") as home:
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", MEDSTATION_HOME=home)
        test = subprocess.run([str(executable), "self-test"], env=env, capture_output=True, text=True)
    (DIST / "self-test.txt").write_text(test.stdout + test.stderr)
    print(test.stdout, end="", flush=True)
    if test.returncode:
        raise SystemExit(f"build: the frozen application's self-test failed:\n{test.stderr[-3000:]}")

    machine = platform.machine().lower().replace("x86_64", "amd64")
    name = f"medstation-{version}-{sys.platform}-{machine}-{args.edition}"
    artefacts: dict[str, int] = {}
    if not args.no_tar:
        tarball = make_tarball(name)
        artefacts[str(tarball.relative_to(ROOT))] = tarball.stat().st_size
    if not args.no_deb and sys.platform.startswith("linux") and shutil.which("dpkg-deb"):
        sys.path.insert(0, str(HERE / "debian"))
        from build_deb import build_deb

        step("building the Debian package")
        deb = build_deb(ONEDIR, DIST, version, args.edition, log=step)
        artefacts[str(deb.relative_to(ROOT))] = deb.stat().st_size
    summary = {
        "version": version,
        "edition": args.edition,
        "platform": f"{sys.platform}-{machine}",
        "torch": torch_build,
        "build_seconds": round(time.perf_counter() - STARTED, 1),
        "onedir_bytes": folder_size(ONEDIR),
        "artefacts": artefacts,
        "onedir_entries": size_summary(ONEDIR),
    }
    write_summary(summary)
    step(f"onedir {mib(summary['onedir_bytes'])}; "
         + "; ".join(f"{Path(p).name} {mib(s)}" for p, s in artefacts.items()))
    step(f"done: summary in {(DIST / 'build-summary.md').relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
