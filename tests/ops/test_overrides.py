"""The operator desk: takes requests, answers them, releases and expires them (the overrides
themselves are tested with the pure core, in tests/core/test_overrides.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from controller.core.events import AuditEvent
from controller.runtime.desk import OperatorDesk
from controller.runtime.dispatch import RulesPolicy
from controller.runtime.requests import AutoRequest, CancelRequest, CurtailRequest, ManualRequest
from tests.core.fakes import (
    T0,
    estimated,
    river,
    settled_histories,
    situation,
)

LATER = T0 + timedelta(hours=1)


class _Sink:
    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def record(self, event: AuditEvent) -> None:
        self.events.append(event)


def _manual(request_id: str, priority: int, on: bool = False) -> ManualRequest:
    return ManualRequest(
        kind="manual",
        id=request_id,
        unit="hp1",
        on=on,
        priority=priority,
        expires_utc=datetime(2024, 1, 8, 1, tzinfo=UTC),
    )


def test_the_desk_releases_cancels_and_expires() -> None:
    plant = river()
    sink = _Sink()
    desk = OperatorDesk(plant.site, RulesPolicy(), sink)
    assert desk.submit(_manual("low", 20), T0).accepted
    assert desk.submit(_manual("high", 80), T0).accepted
    assert not desk.submit(_manual("high", 80), T0).accepted  # ids are unique while active
    auto = desk.submit(AutoRequest(kind="auto", id="a", unit="hp1", priority=50), T0)
    assert auto.accepted
    assert "still held by manual request high" in auto.reason
    assert [r.request_id for r in desk.active] == ["high"]
    weak = desk.submit(CancelRequest(kind="cancel", id="c1", target_id="high", priority=10), T0)
    assert not weak.accepted
    assert "priority 80 above this cancel's 10" in weak.reason
    curtail = CurtailRequest(
        kind="curtail",
        id="cap",
        max_power_kw=2000.0,
        priority=30,
        expires_utc=datetime(2024, 1, 8, 0, 30, tzinfo=UTC),
    )
    assert desk.submit(curtail, T0).accepted
    state = estimated(plant, {"hp1": True})
    later = replace(state, now_utc=LATER)
    targets = desk.targets(situation(plant, later, settled_histories(later)), None)
    assert desk.active == ()
    assert targets.source == "rules"
    kinds = [event.kind for event in sink.events]
    assert kinds.count("request") == 6
    assert kinds.count("answer") == 6
    assert kinds.count("override_released") == 1
    expired = [e for e in sink.events if e.kind == "override_expired"]
    assert sorted(str(e.detail["id"]) for e in expired) == ["cap", "high"]
    assert all(e.at_utc == LATER for e in expired)
