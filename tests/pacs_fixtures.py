"""Fixtures of the PACS tests (``tests/conftest.py`` imports them): a real Orthanc seeded with the DICOM of
``tests/data``, MedStation's settings pointing at it, and the studies it holds.

They start Orthanc only inside the private network namespace (``private_network.py``); outside it they give None,
since the marked tests' bodies do not run there.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from keyring.backend import KeyringBackend
from orthanc_server import OrthancServer, in_private_network, orthanc_missing

DATA = Path(__file__).resolve().parent / "data" / "dicom"
LOCAL_AE, LOCAL_PORT = "MEDSTATION", 11112
GE_ACCESSION, GE_DATE = "GE-ACC-14", "20120704"


@dataclass(frozen=True)
class SeededStudy:
    """A study Orthanc holds, with the folder of the files it was given."""

    folder: Path
    study_uid: str
    series_uid: str
    patient_id: str
    patient_name: str
    modality: str
    accession: str
    date: str
    description: str
    instances: int


def seed_copies(folder: Path) -> dict[str, SeededStudy]:
    """Copies of the repository's real DICOM to give Orthanc: the GE head CT's three slices, with an accession number
    and a study date written into the copies (the originals have none) so those filters have something to find, and
    the Siemens MR mosaic unchanged. The pixel data is untouched."""
    from pydicom import dcmread

    ge, mr = folder / "ge", folder / "mr"
    ge.mkdir(parents=True)
    mr.mkdir(parents=True)
    for source in sorted((DATA / "ge_tilt").glob("*.dcm")):
        dataset = dcmread(source)
        dataset.AccessionNumber = GE_ACCESSION
        dataset.StudyDate = GE_DATE
        dataset.save_as(ge / source.name)
    shutil.copy(DATA / "siemens_mosaic" / "1.dcm", mr / "1.dcm")
    studies = {}
    for key, path in (("ge", ge), ("mr", mr)):
        files = sorted(path.glob("*.dcm"))
        header = dcmread(files[0], stop_before_pixels=True)
        studies[key] = SeededStudy(path, str(header.StudyInstanceUID), str(header.SeriesInstanceUID),
                                   str(header.PatientID), str(header.PatientName), str(header.Modality),
                                   str(header.get("AccessionNumber", "")), str(header.get("StudyDate", "")),
                                   str(header.get("StudyDescription", "")), len(files))
    return studies


def start_orthanc(folder: Path, dicom_port: int = 4242, http_port: int = 8042, **options) -> OrthancServer:
    missing = orthanc_missing()
    if missing:
        pytest.skip(missing)
    modalities = {"MEDSTATION": (LOCAL_AE, "127.0.0.1", LOCAL_PORT)}
    return OrthancServer(folder, dicom_port, http_port, modalities=modalities, **options).start()


class DictKeyring(KeyringBackend):
    """A keyring backend that keeps secrets in a dict: what a platform keyring (Secret Service, Keychain, Windows
    Credential Locker) does behind keyring's API, on a machine that has none of them."""

    priority = 1

    def __init__(self):
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.secrets.get((service, username))

    def set_password(self, service, username, password):
        self.secrets[(service, username)] = password

    def delete_password(self, service, username):
        self.secrets.pop((service, username), None)


@pytest.fixture(scope="session")
def seeded(tmp_path_factory) -> dict[str, SeededStudy] | None:
    if not in_private_network():
        return None
    return seed_copies(tmp_path_factory.mktemp("seed"))


@pytest.fixture(scope="session")
def orthanc(tmp_path_factory, seeded):
    """One Orthanc for the session holding the seeded studies; tests must leave its content as they found it."""
    if not in_private_network():
        yield None
        return
    server = start_orthanc(tmp_path_factory.mktemp("orthanc"))
    for study in seeded.values():
        server.upload(*sorted(study.folder.glob("*.dcm")))
    yield server
    server.kill()


@pytest.fixture
def fresh_orthanc(tmp_path):
    """An empty Orthanc of the test's own (on other ports), to send to, stop or kill."""
    if not in_private_network():
        yield None
        return
    server = start_orthanc(tmp_path / "fresh-orthanc", 4243, 8043)
    yield server
    server.kill()


@pytest.fixture
def pacs_home(tmp_path, monkeypatch):
    """A fresh user data folder: settings, storage folder and study database of this test only."""
    home = tmp_path / "home"
    monkeypatch.setenv("MEDSTATION_HOME", str(home))
    return home
