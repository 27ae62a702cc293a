"""Bad MQTT messages are audited per topic: the first at once, then at most one summary row per
interval with how many came and the last one's reason; nothing counted is lost on stop."""

from __future__ import annotations

from controller.core.events import AuditEvent
from controller.telemetry.mqtt.garbage import GarbageAudit, excerpt
from drivers.clock import SimClock
from tests.core.fakes import T0


class Rows:
    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def record(self, event: AuditEvent) -> None:
        self.events.append(event)

    def counts(self) -> list[tuple[object, object]]:
        return [(e.detail["topic"], e.detail["count"]) for e in self.events]


def test_first_at_once_then_one_summary_per_interval_per_topic() -> None:
    clock = SimClock(T0)
    rows = Rows()
    audit = GarbageAudit(rows, clock, interval_s=60.0)
    for k in range(1000):
        audit.add("p/request", f"reason {k}", b"x", retained=False)
    audit.add("p/market/prices", "bad price", b"y", retained=True)
    assert rows.counts() == [("p/request", 1), ("p/market/prices", 1)]
    clock.advance(59.0)
    audit.flush_due()
    assert len(rows.events) == 2
    clock.advance(1.0)
    audit.flush_due()
    assert rows.counts()[2:] == [("p/request", 999)]
    assert rows.events[2].detail["reason"] == "reason 999"
    assert rows.events[2].detail["first_utc"] == "2024-01-08T00:00:00Z"
    clock.advance(3600.0)  # after a quiet hour the next bad message is audited at once
    audit.add("p/request", "again", b"z", retained=False)
    audit.add("p/request", "and again", b"z", retained=False)
    assert rows.counts()[3:] == [("p/request", 1)]
    audit.flush()  # on stop: the pending one, due or not
    assert rows.counts()[4:] == [("p/request", 1)]
    audit.flush()
    assert len(rows.events) == 5


def test_an_excerpt_is_bounded_and_shows_bytes_that_are_not_text() -> None:
    assert excerpt(b"a" * 10_000) == "a" * 200
    assert excerpt(b"ok \xff") == "ok \\xff"
    assert len(excerpt(b"\xff" * 10_000)) == 200
