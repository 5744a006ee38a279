"""Retrieving the 140-slice Philips head CT from a local Orthanc: MedStation's C-GET and WADO-RS (and C-MOVE) against
DCMTK's getscu doing the same C-GET in the same run, in instances per second. Goal (issue 19): MedStation's C-GET and
WADO-RS within 1.5x of getscu's time. getscu runs twice: as installed (its defaults leave Nagle's algorithm on, which
costs it about 50 ms an instance against Orthanc here) and tuned (``TCP_NODELAY=1``, ``--max-pdu 131072``, its
fastest); ratios are against the tuned one.

Orthanc (with its DICOMweb plugin) runs in a private network namespace where 127.0.0.1 is the only address: run
from the repository root as root, and the script re-runs itself under ``unshare -n`` (then ``ip link set lo up``).
Every contender writes the 140 files into an empty folder of its own (removed, untimed, before each run); MedStation
also indexes them in a study database of its own, as it does for a user. Contenders run once untimed, then
interleaved ``--runs`` times; the median is reported.

    .venv/bin/python benchmarks/pacs_retrieve.py --runs 5 [--json]
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
TUNED = "getscu, tuned"
"""DCMTK's getscu with Nagle's algorithm off (TCP_NODELAY=1) and 128 KiB PDUs: its fastest here, the reference."""
SERIES = ROOT / ".." / "shared" / "data" / "dicom" / "dcm_qa_ct" / "In" / "Philips_head_1mm"


def in_namespace(argv: list[str]) -> int:
    """Run this script again inside a private network namespace."""
    command = " ".join([sys.executable, str(Path(__file__).resolve()), *argv])
    env = {**os.environ, "MEDSTATION_PRIVATE_NETWORK": "1"}
    return subprocess.run(["unshare", "-n", "sh", "-c", f"ip link set lo up && exec {command}"], env=env,
                          cwd=ROOT).returncode


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    from orthanc_server import OrthancServer, in_private_network

    if not in_private_network():
        return in_namespace(argv)
    if not SERIES.is_dir():
        sys.exit(f"needs the shared data at {SERIES} (docs/data.md)")
    if shutil.which("getscu") is None:
        sys.exit("needs DCMTK's getscu (apt-get install dcmtk)")

    from medstation.io.pacs import operations
    from medstation.io.pacs.nodes import LocalStation, PacsNode
    from medstation.io.pacs.storage import ReceivedStore

    work = Path(tempfile.mkdtemp(prefix="pacs-bench-"))
    os.environ["MEDSTATION_HOME"] = str(work / "home")
    server = OrthancServer(work / "orthanc", modalities={"MEDSTATION": ("MEDSTATION", "127.0.0.1", 11112)}).start()
    try:
        files = [path for path in sorted(SERIES.iterdir()) if path.name != "DIRFILE"]
        server.upload(*files)
        study = server.get(f"/instances/{server.instances()[0]}/study")["MainDicomTags"]["StudyInstanceUID"]
        count = len(files)
        local = LocalStation("MEDSTATION", 11112, "127.0.0.1")
        dimse = PacsNode("orthanc", "ORTHANC", "127.0.0.1", 4242, timeout_s=60)
        web = PacsNode("orthanc-web", url=server.dicomweb_url, timeout_s=60)

        def medstation(node, method):
            def run(folder: Path) -> int:
                with ReceivedStore(folder, folder / "studies.sqlite") as store:
                    return operations.retrieve(node, study, method=method, local=local, store=store).received
            return run

        def getscu(*options: str, env: dict | None = None):
            def run(folder: Path) -> int:
                subprocess.run(["getscu", "-S", *options, "-aet", "MEDSTATION", "-aec", "ORTHANC", "-k",
                                "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={study}", "-od", str(folder),
                                "127.0.0.1", "4242"], check=True, capture_output=True,
                               env={**os.environ, **(env or {})})
                return sum(1 for _ in folder.glob("*"))
            return run

        contenders = {
            TUNED: getscu("--max-pdu", "131072", env={"TCP_NODELAY": "1"}),
            "getscu, defaults": getscu(),
            "MedStation C-GET": medstation(dimse, "get"),
            "MedStation WADO-RS": medstation(web, "wado"),
            "MedStation C-MOVE": medstation(dimse, "move"),
        }
        times: dict[str, list[float]] = {name: [] for name in contenders}
        for run_number in range(args.runs + 1):
            for name, contender in contenders.items():
                folder = work / "out" / "".join(char for char in name if char.isalnum())
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir(parents=True)
                started = time.perf_counter()
                received = contender(folder)
                seconds = time.perf_counter() - started
                if received < count:
                    sys.exit(f"{name} received {received} of {count} instances")
                if run_number:
                    times[name].append(seconds)
    finally:
        server.kill()
        shutil.rmtree(work, ignore_errors=True)

    reference = statistics.median(times[TUNED])
    results = {name: {"median_s": statistics.median(values), "instances_per_s": count / statistics.median(values),
                      "time_vs_getscu": statistics.median(values) / reference, "runs_s": values}
               for name, values in times.items()}
    if args.json:
        print(json.dumps({"instances": count, "runs": args.runs, "results": results}, indent=2))
        return 0
    print(f"{count} instances, median of {args.runs} runs")
    print(f"{'contender':24s} {'median s':>9s} {'instances/s':>12s} {'time vs tuned getscu':>21s}")
    for name, result in results.items():
        print(f"{name:24s} {result['median_s']:9.2f} {result['instances_per_s']:12.0f} "
              f"{result['time_vs_getscu']:20.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
