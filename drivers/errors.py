"""Driver errors, classified at the boundary so callers know whether trying again can help.

`RetryableIOError`: the wire failed (timeout, refused or lost connection, a gateway that got
no answer); the device is backed off and retried. `PermanentError`: the configuration is
wrong (a map that does not match the device, a refused write); retrying cannot fix it.
"""

from __future__ import annotations


class DriverError(Exception):
    """Base of every error the drivers raise on purpose."""


class RetryableIOError(DriverError):
    """An I/O failure that may go away: timeout, connection refused or lost, device busy."""


class BackedOff(RetryableIOError):
    """Nothing was sent: the connection is down and its next connect attempt is not yet due."""


class PermanentError(DriverError):
    """A configuration or protocol error that retrying will not fix."""


class WriteRefused(PermanentError):
    """A write refused before anything reached the wire; names device, point, value and why."""

    def __init__(self, device: str, point: str, value: object, reason: str) -> None:
        super().__init__(
            f"write refused: device '{device}' point '{point}' value {value!r}: {reason}"
        )
        self.device = device
        self.point = point
        self.value = value
        self.reason = reason
