"""The one family of errors MedStation raises for user, data and model problems.

Messages say what was found, what was expected and what to do, and name the file involved.
"""

from __future__ import annotations


class MedStationError(Exception):
    """Base of every error meant for the user (exit code 1 on the command line, a dialog in the GUI)."""


class UnreadableInput(MedStationError):
    """A file or folder could not be read as the format it claims to be."""


class GeometryError(MedStationError):
    """Image geometry is missing, inconsistent or cannot be represented."""


class ModelError(MedStationError):
    """A model bundle is missing, damaged, or not made for this input."""


class DeviceError(MedStationError):
    """The requested compute device does not exist on this machine."""


class Cancelled(MedStationError):
    """Work stopped because the user cancelled it."""


def reason_without_path(path: object, message: str) -> str:
    """``message`` without the ``"PATH: "`` it starts with when it comes from an error about ``path``, for a line that
    names the file itself ("skipped PATH: reason")."""
    return message.removeprefix(f"{path}: ")
