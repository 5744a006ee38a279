"""The errors of PACS connectivity: each names the node (its name and address) and says what to check."""

from __future__ import annotations

from medstation.errors import MedStationError


class PacsError(MedStationError):
    """A PACS node could not be reached, refused us, did not answer in time, or broke off a transfer."""


class TransferAborted(PacsError):
    """A transfer ended before every instance arrived; the instances received whole are kept and indexed."""

    def __init__(self, message: str, received: int = 0):
        super().__init__(message)
        self.received = received
