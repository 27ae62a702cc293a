"""Readings with quality: a value is never silently reused once its device stops answering."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Quality(str, Enum):
    """OPC-style quality of one value at the moment of a snapshot."""

    GOOD = "good"
    STALE = "stale"  # read successfully once, but older than the point's max age
    BAD = "bad"  # never read, device failed, or the value was invalid (NaN, decode error)


@dataclass(frozen=True, slots=True)
class Reading:
    """One point's value with the monotonic time it was read and its quality."""

    value: float | None
    read_at_s: float
    quality: Quality

    @property
    def good(self) -> bool:
        return self.quality is Quality.GOOD and self.value is not None


BAD_READING = Reading(value=None, read_at_s=float("-inf"), quality=Quality.BAD)
