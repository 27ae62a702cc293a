"""Bad MQTT messages in the audit store and the log: aggregated per topic, rate-limited.

A publisher that misbehaves (or an attacker with publish rights) can send thousands of bad
messages a second; one audit row each would fill the edge PC's disk, whose sizing assumes a few
thousand rows a day. So per topic the first bad message is audited at once, with a bounded
excerpt; after that at most one row per `interval_s`, with how many came since the last row and
the last one's reason and excerpt. The bridge's garbage counter still counts every message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from controller.core.events import AuditEvent, EventSink
from controller.telemetry.mqtt.payloads import iso_utc
from drivers.clock import Clock

log = logging.getLogger(__name__)

GARBAGE_KIND = "mqtt_garbage"
EXCERPT_CHARS = 200
REASON_CHARS = 300
SUMMARY_INTERVAL_S = 60.0


def excerpt(payload: bytes, max_chars: int = EXCERPT_CHARS) -> str:
    """The start of a payload as text; bytes that are not UTF-8 shown as escapes."""
    # at most 4 bytes a character: decoding more than that is wasted on a 256 kB payload
    return payload[: 4 * max_chars].decode("utf-8", errors="backslashreplace")[:max_chars]


@dataclass
class _Tally:
    """Bad messages on one topic not yet in an audit row, and when the last row was written."""

    count: int = 0
    first_utc: datetime | None = None
    reason: str = ""
    excerpt: str = ""
    size_bytes: int = 0
    retained: bool = False
    last_row_s: float | None = None


class GarbageAudit:
    """Call `add` for every bad message, `flush_due` now and then, `flush` when stopping."""

    def __init__(
        self, sink: EventSink | None, clock: Clock, interval_s: float = SUMMARY_INTERVAL_S
    ) -> None:
        self._sink = sink
        self._clock = clock
        self._interval_s = interval_s
        self._tallies: dict[str, _Tally] = {}
        self.rows_total = 0

    def add(self, topic: str, reason: str, payload: bytes, retained: bool) -> None:
        tally = self._tallies.setdefault(topic, _Tally())
        tally.count += 1
        if tally.first_utc is None:
            tally.first_utc = self._clock.now()
        tally.reason = reason[:REASON_CHARS]
        tally.excerpt = excerpt(payload)
        tally.size_bytes = len(payload)
        tally.retained = retained
        if self._due(tally):
            self._write(topic, tally)

    def flush_due(self) -> None:
        """Write the summaries whose interval has passed."""
        for topic, tally in self._tallies.items():
            if tally.count and self._due(tally):
                self._write(topic, tally)

    def flush(self) -> None:
        """Write every pending summary, due or not (on stop: no count is lost)."""
        for topic, tally in self._tallies.items():
            if tally.count:
                self._write(topic, tally)

    def _due(self, tally: _Tally) -> bool:
        last_s = tally.last_row_s
        return last_s is None or self._clock.monotonic_s() - last_s >= self._interval_s

    def _write(self, topic: str, tally: _Tally) -> None:
        now = self._clock.now()
        first = tally.first_utc or now
        detail: dict[str, object] = {
            "topic": topic,
            "count": tally.count,
            "first_utc": iso_utc(first),
            "reason": tally.reason,
            "excerpt": tally.excerpt,
            "size_bytes": tally.size_bytes,
            "retained": tally.retained,
        }
        if self._sink is not None:
            self._sink.record(AuditEvent(now, GARBAGE_KIND, None, detail))
            self.rows_total += 1
        log.warning(
            "MQTT: %d bad message(s) on %s since %s, the last: %s",
            tally.count,
            topic,
            iso_utc(first),
            tally.reason,
        )
        tally.count = 0
        tally.first_utc = None
        tally.last_row_s = self._clock.monotonic_s()
