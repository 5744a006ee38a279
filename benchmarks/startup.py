"""Seconds from process start to a visible MedStation main window, on a real X server (Xvfb).

Polls the X server with xdotool until a visible window named "MedStation" exists, as a user would see it.
Reference in the same run: a bare PySide6 QMainWindow (the floor any Qt application pays). Goal: < 2 s.
Needs Xvfb, xdotool and Qt's xcb libraries (docs/design.md §6).

    python benchmarks/startup.py [--runs N] [--json] [--command "PROGRAM [ARGS]"]

--command times another MedStation, e.g. the installed desktop build (/opt/medstation/medstation or an unpacked
.deb's usr/bin/medstation) against this checkout's editable install (the default, ``python -m medstation``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BARE_QT = (
    "import sys\nfrom PySide6.QtWidgets import QApplication, QMainWindow\n"
    "app = QApplication(sys.argv)\nw = QMainWindow()\nw.setWindowTitle('BareQt')\nw.show()\napp.exec()\n"
)


def _visible(display: str, name: str) -> bool:
    found = subprocess.run(
        ["xdotool", "search", "--onlyvisible", "--name", f"^{name}$"],
        env={**os.environ, "DISPLAY": display},
        capture_output=True,
    )
    return found.returncode == 0 and bool(found.stdout.strip())


def time_to_window(command: list[str], name: str, display: str, home: str) -> float:
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb", "MEDSTATION_HOME": home}
    started = time.perf_counter()
    # stderr goes to a file: an unread pipe fills up and blocks a chatty process at exit
    with tempfile.TemporaryFile("w+") as errors:
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=errors, text=True)
        try:
            while not _visible(display, name):
                if process.poll() is not None or time.perf_counter() - started > 60:
                    process.kill()
                    process.wait()
                    errors.seek(0)
                    raise RuntimeError(f"{name} never appeared (exit status {process.returncode}): {errors.read()}")
                time.sleep(0.01)
            return time.perf_counter() - started
        finally:
            process.terminate()
            process.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--command", help="the MedStation to start (default: this Python's -m medstation)")
    args = parser.parse_args()
    for tool in ("Xvfb", "xdotool"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is needed: apt-get install xvfb xdotool (and Qt's xcb libraries, docs/design.md §6)")
    number = next(n for n in range(50, 200) if not Path(f"/tmp/.X11-unix/X{n}").exists())
    display = f":{number}"
    server = subprocess.Popen(["Xvfb", display, "-noreset", "-screen", "0", "1600x1000x24"], stderr=subprocess.DEVNULL)
    while not Path(f"/tmp/.X11-unix/X{number}").exists():
        time.sleep(0.05)
    medstation = args.command.split() if args.command else [sys.executable, "-m", "medstation"]
    try:
        with tempfile.TemporaryDirectory() as home:
            time_to_window(medstation, "MedStation", display, home)  # warm the file cache once
            ours = [time_to_window(medstation, "MedStation", display, home) for _ in range(args.runs)]
            bare = [time_to_window([sys.executable, "-c", BARE_QT], "BareQt", display, home) for _ in range(args.runs)]
    finally:
        server.terminate()
        server.wait(30)
    result = {
        "medstation_median_s": round(statistics.median(ours), 3),
        "medstation_max_s": round(max(ours), 3),
        "bare_pyside6_median_s": round(statistics.median(bare), 3),
        "ratio_to_bare_qt": round(statistics.median(ours) / statistics.median(bare), 2),
        "goal_s": 2.0,
        "runs": args.runs,
        "command": " ".join(medstation),
    }
    print(json.dumps(result) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
