"""Device choice: environment over settings over auto; absent devices are errors, not fallbacks."""

from __future__ import annotations

import pytest

from medstation.engine.runtime import device
from medstation.errors import DeviceError
from medstation.settings import update_settings


def test_environment_wins_over_settings(monkeypatch):
    monkeypatch.setenv(device.ENV_VARIABLE, "cpu")
    assert device.requested_device("cuda") == ("cpu", "environment")
    assert device.select_device("cuda") == "cpu"


def test_settings_used_when_environment_is_auto_or_unset(monkeypatch):
    monkeypatch.setenv(device.ENV_VARIABLE, "auto")
    assert device.requested_device("cpu") == ("cpu", "settings")
    monkeypatch.delenv(device.ENV_VARIABLE)
    assert device.requested_device(None) == ("auto", "auto")


def test_invalid_environment_value_is_a_clear_error(monkeypatch):
    monkeypatch.setenv(device.ENV_VARIABLE, "gpu0")
    with pytest.raises(DeviceError, match="MEDSTATION_DEVICE='gpu0'"):
        device.select_device()


def test_auto_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.delenv(device.ENV_VARIABLE, raising=False)
    monkeypatch.setattr(device, "_cuda_count", lambda: 1)
    monkeypatch.setattr(device, "_mps_available", lambda: True)
    assert device.select_device() == "cuda"
    monkeypatch.setattr(device, "_cuda_count", lambda: 0)
    assert device.select_device() == "mps"
    monkeypatch.setattr(device, "_mps_available", lambda: False)
    assert device.select_device() == "cpu"


def test_requested_cuda_index_beyond_the_machine_is_refused(monkeypatch):
    monkeypatch.setenv(device.ENV_VARIABLE, "cuda:3")
    monkeypatch.setattr(device, "_cuda_count", lambda: 1)
    with pytest.raises(DeviceError, match="has 1 CUDA device"):
        device.select_device()


def test_detected_device_on_this_machine(monkeypatch):
    import torch

    monkeypatch.delenv(device.ENV_VARIABLE, raising=False)
    info = device.detect_device()
    expected = "cuda" if torch.cuda.is_available() else ("mps" if device._mps_available() else "cpu")
    assert info.device == expected
    assert info.threads >= 1
    assert info.label()


def test_gui_leaves_a_core_free_on_small_machines(monkeypatch):
    monkeypatch.setattr(device.os, "cpu_count", lambda: 2)
    assert device.recommended_threads(reserve_for_gui=True) == 1
    assert device.recommended_threads(reserve_for_gui=False) == 2
    monkeypatch.setattr(device.os, "cpu_count", lambda: 1)
    assert device.recommended_threads(reserve_for_gui=True) == 1


def test_the_device_saved_in_preferences_is_used_when_none_is_passed(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDSTATION_HOME", str(tmp_path))
    monkeypatch.delenv(device.ENV_VARIABLE, raising=False)
    assert device.requested_device() == ("auto", "auto")
    update_settings(device="cpu")
    assert device.requested_device() == ("cpu", "settings")
    assert device.select_device() == "cpu"
    assert device.detect_device().source == "settings"
    monkeypatch.setenv(device.ENV_VARIABLE, "auto")
    assert device.requested_device() == ("cpu", "settings")


def test_the_environment_wins_over_the_saved_device(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDSTATION_HOME", str(tmp_path))
    update_settings(device="cuda:5")
    monkeypatch.setenv(device.ENV_VARIABLE, "cpu")
    assert device.requested_device() == ("cpu", "environment")
    assert device.select_device() == "cpu"


def test_a_saved_device_that_is_no_device_names_the_settings_file(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDSTATION_HOME", str(tmp_path))
    monkeypatch.delenv(device.ENV_VARIABLE, raising=False)
    update_settings(device="gpu0")
    with pytest.raises(DeviceError, match="'gpu0' is not a device") as caught:
        device.select_device()
    assert str(tmp_path / "settings.json") in str(caught.value)
