"""Real PhysioNet 2012 records copied out of the shared archives into a test's folder."""

from __future__ import annotations

import tarfile
from pathlib import Path


def extract_records(archive: Path, folder: Path, count: int) -> set[str]:
    """The first ``count`` record files of ``archive`` written into ``folder``; returns their RecordIDs."""
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        members = [m for m in tar if m.isfile() and m.name.endswith(".txt")][:count]
        for member in members:
            (folder / Path(member.name).name).write_bytes(tar.extractfile(member).read())
    return {Path(member.name).stem for member in members}


def records_with_outcomes(shared_path, folder: Path, count: int) -> Path:
    """``folder/records`` holding ``count`` set-a records and ``folder/outcomes.txt`` holding their outcomes."""
    kept = extract_records(shared_path("physionet2012", "set-a.tar.gz"), folder / "records", count)
    outcomes = shared_path("physionet2012", "Outcomes-a.txt").read_text().splitlines()
    rows = [outcomes[0]] + [row for row in outcomes[1:] if row.split(",")[0] in kept]
    (folder / "outcomes.txt").write_text("\n".join(rows) + "\n")
    return folder
