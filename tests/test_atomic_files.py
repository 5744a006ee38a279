"""Atomic writes: complete or absent, nothing left behind on failure, and the umask's mode (0666 less it) on every
file the workstation writes this way, not the temporary file's private 0600."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from medstation.atomic_files import current_umask, new_file_mode, write_atomically, write_text_atomically
from medstation.io.measurement_store import MeasurementStore
from medstation.io.nifti import read_volume, write_volume
from medstation.io.synthetic.writers import write_synthetic
from medstation.resources import resource_path
from medstation.settings import UserSettings, save_settings


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_file_is_written_privately_under_a_hidden_name_with_its_suffixes_then_renamed(tmp_path, umask):
    assert current_umask() == umask and new_file_mode() == 0o666 & ~umask
    seen = []

    def write(temporary):
        seen.append((temporary.name, _mode(temporary)))
        temporary.write_text("volume")

    target = write_atomically(tmp_path / "brain.nii.gz", write)
    name, mode = seen[0]
    assert name.startswith(".brain.nii.gz.") and name.endswith(".partial.nii.gz") and mode == 0o600
    assert target.read_text() == "volume" and _mode(target) == 0o666 & ~umask
    assert [path.name for path in tmp_path.iterdir()] == ["brain.nii.gz"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "settings.json"
    target.write_text("old")

    def fail(temporary):
        temporary.write_text("half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        write_atomically(target, fail)
    assert target.read_text() == "old" and [path.name for path in tmp_path.iterdir()] == ["settings.json"]


def test_a_file_that_appeared_meanwhile_is_kept_when_not_to_be_replaced(tmp_path):
    target = tmp_path / "sample.png"

    def write_while_another_appears(temporary):
        temporary.write_text("mine")
        target.write_text("theirs")

    with pytest.raises(FileExistsError):
        write_atomically(target, write_while_another_appears, replace=False)
    assert target.read_text() == "theirs" and [path.name for path in tmp_path.iterdir()] == ["sample.png"]
    assert write_text_atomically(target, "replaced").read_text() == "replaced"


def test_every_writer_gives_its_files_the_umask_mode(tmp_path, umask):
    expected = 0o666 & ~umask
    image = np.linspace(0, 1, 64, dtype=np.float32).reshape(1, 8, 8)
    written = write_synthetic(image, ["normal"], tmp_path / "synthetic", "png", model="m", seed=0)
    store = MeasurementStore(tmp_path / "measurements")
    store.save("1.2.3", "1.2", [{"id": 1, "kind": "ruler"}])
    save_settings(UserSettings(), tmp_path / "settings.json")
    paths = [*written, *(tmp_path / "measurements").iterdir(), tmp_path / "settings.json"]
    assert paths and all(_mode(path) == expected for path in paths), [(p.name, oct(_mode(p))) for p in paths]


def test_a_converted_volume_gets_the_umask_mode(tmp_path, umask):
    from medstation.io.open_study import open_image

    volume = open_image(resource_path("sample", "images", "sample-04.dcm")).volume
    target = write_volume(volume, tmp_path / "sample.nii.gz")
    assert _mode(target) == 0o666 & ~umask
    assert np.array_equal(read_volume(target).array, volume.array)
    assert [path.name for path in tmp_path.iterdir()] == ["sample.nii.gz"]
