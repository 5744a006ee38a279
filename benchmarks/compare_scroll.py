"""Scrolling in the Compare layout: the 140 x 512 x 512 Philips head CT beside a prior, against the viewer alone.

The prior is a copy of the series written with pydicom into a temporary folder, as another study of the same
patient (new StudyInstanceUID, SeriesInstanceUID, FrameOfReferenceUID and SOPInstanceUIDs, an earlier StudyDate),
so the two are linked by slice fraction. Both are indexed in a throw-away study database; the main window opens
the current one, then View > Compare (Ctrl+4) opens the prior in a job, as a reader would. A frame is a slice
change of the current series' axial view (the prior follows through the link) plus ``grab()`` offscreen
(``repaint()`` draws nothing offscreen): of both axial views, and of the whole viewer area. Reference in the same
run: the same window with Compare off (the viewer alone, which then has the whole width). The window is
1600 x 1000 with the study browser docked (the right-hand docks closed). Goal (issue 17): axial >= 100 fps with
both visible.

Run: ``QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/compare_scroll.py [--frames N] [DICOM_FOLDER]``
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_HOME = tempfile.TemporaryDirectory(prefix="medstation-compare-benchmark-")
os.environ["MEDSTATION_HOME"] = _HOME.name

from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402
from viewer_scroll import DEFAULT_SERIES, frames_per_second  # noqa: E402

from medstation.core.window_level import Window  # noqa: E402
from medstation.io.database import StudyDatabase  # noqa: E402
from medstation.ui.app import close_window, create_application  # noqa: E402
from medstation.ui.jobs import JobRunner  # noqa: E402
from medstation.ui.main_window import MainWindow  # noqa: E402
from medstation.ui.settings import Settings  # noqa: E402


def write_prior(series: Path, out: Path) -> None:
    """Copy every file of ``series`` into ``out`` as one series of an earlier study of the same patient."""
    from pydicom import dcmread
    from pydicom.uid import generate_uid

    study, series_uid, frame = generate_uid(), generate_uid(), generate_uid()
    out.mkdir(parents=True)
    for number, path in enumerate(sorted(p for p in series.iterdir() if p.is_file())):
        dataset = dcmread(path)
        dataset.StudyInstanceUID, dataset.SeriesInstanceUID, dataset.FrameOfReferenceUID = study, series_uid, frame
        dataset.SOPInstanceUID = dataset.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        dataset.StudyDate = "20190304"
        dataset.save_as(out / f"prior{number:04d}.dcm")


def wait(app: QApplication, done, timeout_s: float = 120.0) -> float:
    start = time.perf_counter()
    while not done():
        if time.perf_counter() - start > timeout_s:
            raise TimeoutError("the series did not open")
        app.processEvents()
        time.sleep(0.002)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("series", nargs="?", default=str(DEFAULT_SERIES))
    parser.add_argument("--frames", type=int, default=300)
    args = parser.parse_args()
    app = create_application()
    folder = Path(_HOME.name) / "studies"
    write_prior(Path(args.series), folder / "prior")
    database = StudyDatabase(Path(_HOME.name) / "studies.sqlite")
    for source in (Path(args.series), folder / "prior"):
        database.import_folder(source)
    settings = Settings(QSettings(str(Path(_HOME.name) / "settings.ini"), QSettings.Format.IniFormat),
                        Path(_HOME.name) / "settings.json")
    window = MainWindow(JobRunner(), settings, database, start_engine_on_first_paint=False)
    window.resize(1600, 1000)
    for name in ("ai", "generator", "layers", "measurements"):
        window.docks[name].hide()  # the study browser stays: the views get the rest of the window
    window.show()
    current_row = next(row for study in database.studies() if study.study_date != "20190304"
                       for row in database.series(study.study_uid))
    job = window.opener.open_series(current_row)
    wait(app, lambda: job.state.finished and window.viewer.state is not None)
    state = window.viewer.state
    print(f"volume {state.volume.array.shape} {state.volume.array.dtype}")

    for layout in ("single", "1x3"):
        window.viewer.set_layout(layout)
        window.set_compare(False)
        app.processEvents()
        axial = window.viewer.views["axial"]
        n = state.planes["axial"].n_slices

        def step(index: int, n=n) -> None:
            state.set_slice("axial", (index * 3) % n)

        state.set_window(Window(80, 40))
        alone_size = axial.size()
        alone = frames_per_second(step, axial.grab, args.frames)
        alone_area = frames_per_second(step, window.viewer_area.grab, args.frames // 3)

        if window.compare.viewer.state is None:
            started = time.perf_counter()
            compare_job = window.set_compare(True)
            wait(app, lambda: window.compare.viewer.state is not None)
            opened = time.perf_counter() - started
            assert compare_job is not None and compare_job.state.value == "done"
            print(f"Ctrl+4 to the prior shown beside the current series: {opened:.2f} s (job: scan 140 headers, "
                  "read and rescale 70 MiB)")
        else:
            window.set_compare(True)
        window.compare.viewer.set_layout(layout)
        app.processEvents()
        other = window.compare.viewer.views["axial"]
        assert window.compare.link is not None and window.compare.link.linked

        def both(axial=axial, other=other) -> None:
            axial.grab()
            other.grab()

        compared = frames_per_second(step, both, args.frames)
        compared_area = frames_per_second(step, window.viewer_area.grab, args.frames // 3)
        size, other_size = axial.size(), other.size()
        print(f"{layout:6s}: axial view alone {alone_size.width()}x{alone_size.height()} px, in Compare "
              f"{size.width()}x{size.height()} and {other_size.width()}x{other_size.height()} px; "
              f"alone {alone:6.0f} fps, "
              f"with the prior following {compared:6.0f} fps (both axial views grabbed; goal 100; "
              f"{compared / alone:.2f} x alone); whole viewer area: alone {alone_area:.0f} fps, "
              f"compare {compared_area:.0f} fps")

    def drag(index: int) -> None:
        state.set_window(Window(80 + 4 * (index % 50), 40 + (index % 30)))

    wl = frames_per_second(drag, window.viewer_area.grab, args.frames // 3)
    print(f"window/level drag, both 1x3 viewers following, whole viewer area grab: {wl:.0f} fps (goal 60)")
    close_window(app, window)
    _HOME.cleanup()


if __name__ == "__main__":
    main()
