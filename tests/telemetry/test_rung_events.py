"""Dispatch rung changes in the audit and on MQTT: down the ladder is a `fallback`, up it a
`recovery` (issue 11: `rules -> plan` was called a fallback), and each carries its reason."""

from __future__ import annotations

from dataclasses import replace

from controller.core.events import AuditEvent
from controller.telemetry.audit import AuditObserver, rung_change_kind
from tests.runtime.planner_rig import T0, cycle_report, plant_state


class _Sink:
    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def record(self, event: AuditEvent) -> None:
        self.events.append(event)


def test_rung_change_kinds() -> None:
    assert rung_change_kind(None, "rules") == "fallback"
    assert rung_change_kind("rules", "plan") == "recovery"
    assert rung_change_kind("last_plan", "plan") == "recovery"
    assert rung_change_kind("plan", "last_plan") == "fallback"
    assert rung_change_kind("plan", "rules") == "fallback"
    assert rung_change_kind("plan", "merit") == "fallback"


def test_rung_events_carry_kind_and_reason() -> None:
    sink = _Sink()
    observer = AuditObserver(sink)
    report = cycle_report(plant_state(T0, 0.0))
    ladder = [
        ("rules", "no plan yet: the first planning run has not finished"),
        ("plan", "following the plan from 2024-01-08 00:00 UTC"),
        ("rules", "the last usable plan is 4.1 h old, beyond max_plan_age_s 14400 s"),
    ]
    for source, reason in ladder:
        targets = replace(report.targets, source=source, source_reason=reason)
        observer.observe(replace(report, targets=targets))
    changes = [e for e in sink.events if e.kind in ("fallback", "recovery")]
    assert [(e.kind, e.detail["from"], e.detail["to"]) for e in changes] == [
        ("fallback", None, "rules"),
        ("recovery", "rules", "plan"),
        ("fallback", "plan", "rules"),
    ]
    assert [e.detail["reason"] for e in changes] == [reason for _, reason in ladder]
