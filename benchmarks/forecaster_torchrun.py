"""``medstation train forecaster --nproc-per-node N`` on this machine: the time of one and two CPU workers, and how
alike their models are (issue 21, "Performance": scaling efficiency of torchrun with 2 CPU processes).

Trains on the first ``--stays`` set-a records (one ensemble member, ``--epochs`` epochs, dropout 0 so that the two
runs can match) three ways, each a whole ``medstation`` process: without torchrun, with ``--nproc-per-node 1`` and
with ``--nproc-per-node 2``. Prints the wall times, the scaling efficiency ``t1 / (2 * t2)`` (1.0 would be perfect;
two workers share this machine's cores, and torchrun gives each worker one thread where one process uses them
all), and the largest difference between the 1- and 2-worker models' risks at hour 48 and heart-rate medians at
hour 24 on the training stays. The load average (1 minute) is printed with each time.

    .venv/bin/python benchmarks/forecaster_torchrun.py [--stays N] [--epochs E] [--json]
"""

from __future__ import annotations

import argparse
import os
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np
from torchrun_runs import PLAIN_AND_WORKERS, print_results, timed_runs

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "physionet2012"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--stays", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from medstation.engine.forecaster import load_forecaster
    from medstation.io.timelines.reading import load_timelines

    results: dict = {"stays": args.stays, "epochs": args.epochs, "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        records = folder / "records"
        records.mkdir()
        with tarfile.open(args.data / "set-a.tar.gz") as tar:
            members = [m for m in tar if m.isfile() and m.name.endswith(".txt")][: args.stays]
            for member in members:
                (records / member.name.split("/")[-1]).write_bytes(tar.extractfile(member).read())
        common = [sys.executable, "-m", "medstation", "train", "forecaster", "--data", str(records), "--outcomes",
                  str(args.data / "Outcomes-a.txt"), "--members", "1", "--epochs", str(args.epochs), "--dropout",
                  "0", "--json"]
        results.update(timed_runs(common, folder, PLAIN_AND_WORKERS))
        results["efficiency_2_workers"] = results["workers_1"]["seconds"] / (2 * results["workers_2"]["seconds"])
        timelines, _ = load_timelines(records)
        one, two = load_forecaster(folder / "workers_1"), load_forecaster(folder / "workers_2")
        results["risk_48h_max_difference"] = float(np.abs(one.predict_risk(timelines, 48.0)
                                                          - two.predict_risk(timelines, 48.0)).max())
        hr_one = one.predict_trend(timelines, 24.0, 12)["HR"][..., 1]
        hr_two = two.predict_trend(timelines, 24.0, 12)["HR"][..., 1]
        results["hr_median_24h_max_difference"] = float(np.nanmax(np.abs(hr_one - hr_two)))
    print_results(results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
