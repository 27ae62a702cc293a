"""The operator desk across a restart: requests in force come back with their original expiry,
those that expired while stopped are released and audited; and the caps on requests in force."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from controller.config import OverridesConfig, Plant
from controller.runtime.desk import OperatorDesk
from controller.runtime.dispatch import RulesPolicy
from controller.runtime.requests import (
    CancelRequest,
    CurtailRequest,
    ManualRequest,
    SetpointRequest,
)
from controller.runtime.state_store import STATE_FILE, StateStore, StateStoreError
from controller.telemetry.audit import AUDIT_FILE, AuditStore, FanOut, read_audit
from tests.core.fakes import T0, estimated, river, settled_histories, situation

H = timedelta(hours=1)


def _curtail(request_id: str, expires: datetime, operator: str = "tso") -> CurtailRequest:
    return CurtailRequest(
        kind="curtail",
        id=request_id,
        max_power_kw=0.0,
        priority=70,
        operator=operator,
        expires_utc=expires,
    )


def _manual_off(request_id: str, expires: datetime) -> ManualRequest:
    return ManualRequest(
        kind="manual",
        id=request_id,
        unit="hp2",
        on=False,
        priority=40,
        operator="alice",
        expires_utc=expires,
    )


def _setpoint(plant: Plant, request_id: str, operator: str) -> SetpointRequest:
    spec = plant.site.units[0]
    return SetpointRequest(
        kind="setpoint",
        id=request_id,
        unit=spec.name,
        heat_kw=spec.heat_min_kw,
        priority=50,
        operator=operator,
        expires_utc=T0 + H,
    )


class _Controller:
    """The desk with a real state store and audit store in `data_dir`, as `hpctl run` has."""

    def __init__(self, plant: Plant, data_dir: Path) -> None:
        self.state = StateStore(data_dir / STATE_FILE)
        self.audit = AuditStore(data_dir / AUDIT_FILE)
        self.desk = OperatorDesk(plant.site, RulesPolicy(), FanOut([self.audit]), self.state)

    def close(self) -> None:
        self.audit.close()
        self.state.close()


def test_overrides_survive_a_restart_and_those_expired_while_stopped_are_released(
    tmp_path: Path,
) -> None:
    plant = river()
    first = _Controller(plant, tmp_path)
    assert first.desk.restore(T0) == ()  # a fresh data directory: nothing to take back
    assert first.desk.submit(_curtail("grid-1", T0 + 2 * H), T0).accepted
    assert first.desk.submit(_manual_off("maint-2", T0 + H / 2), T0).accepted
    first.close()

    # the controller comes back an hour later: the curtailment still holds, the manual stop
    # ran out while it was down
    later = T0 + H
    second = _Controller(plant, tmp_path)
    restored = second.desk.restore(later)
    assert [r.request_id for r in restored] == ["grid-1"]
    assert restored[0].expires_utc == T0 + 2 * H  # its original expiry, not a fresh 24 h
    assert restored[0].received_utc == T0
    assert [r.request_id for r in second.desk.active] == ["grid-1"]
    # and it acts on the targets at once: a curtailment to 0 kW stops the running unit
    state = replace(estimated(plant, {"hp1": True}), now_utc=later)
    targets = second.desk.targets(situation(plant, state, settled_histories(state)), None)
    assert targets.unit_on["hp1"] is False
    assert "grid-1" in targets.reasons["hp1"]
    second.close()

    rows = read_audit(tmp_path / AUDIT_FILE, since_utc=later)
    released = [r for r in rows if r.kind == "override_released"]
    assert [r.detail["id"] for r in released] == ["maint-2"]
    assert released[0].detail["reason"] == "expired while stopped"
    assert released[0].equipment == "hp2"
    kept = [r for r in rows if r.kind == "override_restored"]
    assert [r.detail["id"] for r in kept] == ["grid-1"]
    assert kept[0].detail["expires_utc"] == (T0 + 2 * H).isoformat()

    # a third start after the curtailment's own expiry: released too, and nothing is left
    third = _Controller(plant, tmp_path)
    assert third.desk.restore(T0 + 3 * H) == ()
    third.close()
    fourth = _Controller(plant, tmp_path)
    assert fourth.state.load_overrides() == ()
    fourth.close()
    rows = read_audit(tmp_path / AUDIT_FILE, kinds=["override_released"])
    assert [r.detail["id"] for r in rows] == ["maint-2", "grid-1"]


def test_every_change_of_the_book_is_saved_at_once(tmp_path: Path) -> None:
    """Not at shutdown: a killed process has no shutdown. A second connection (another
    process, as after a crash) sees each change as soon as the desk made it."""
    plant = river()
    ctl = _Controller(plant, tmp_path)

    def saved() -> list[str]:
        db = sqlite3.connect(tmp_path / STATE_FILE)
        try:
            return [row[0] for row in db.execute("SELECT request_id FROM override ORDER BY 1")]
        finally:
            db.close()

    ctl.desk.submit(_curtail("grid-1", T0 + 2 * H), T0)
    ctl.desk.submit(_manual_off("maint-2", T0 + H), T0)
    assert saved() == ["grid-1", "maint-2"]
    cancel = CancelRequest(kind="cancel", id="c1", target_id="grid-1", priority=90)
    assert ctl.desk.submit(cancel, T0).accepted
    assert saved() == ["maint-2"]
    ctl.desk.expire(T0 + H)
    assert saved() == []
    ctl.close()


def test_a_request_the_plant_file_no_longer_allows_is_released_on_restore(
    tmp_path: Path,
) -> None:
    plant = river()
    first = _Controller(plant, tmp_path)
    spec = plant.site.units[0]
    request = SetpointRequest(
        kind="setpoint",
        id="sp-1",
        unit=spec.name,
        heat_kw=spec.heat_max_kw,
        priority=50,
        expires_utc=T0 + 2 * H,
    )
    assert first.desk.submit(request, T0).accepted
    first.close()
    # the unit was re-rated in the plant file while the controller was down
    smaller = spec.model_copy(update={"heat_max_kw": spec.heat_max_kw / 2})
    units = [smaller, *plant.site.units[1:]]
    derated = plant.with_site(plant.site.model_copy(update={"units": units}))
    second = _Controller(derated, tmp_path)
    assert second.desk.restore(T0 + H) == ()
    second.close()
    rows = read_audit(tmp_path / AUDIT_FILE, kinds=["override_released"])
    assert len(rows) == 1
    assert str(rows[0].detail["reason"]).startswith("no longer valid: heat_kw")


def test_one_operator_cannot_hold_more_than_the_cap(tmp_path: Path) -> None:
    """3,000 valid setpoint requests from one client: 16 held, the rest refused and audited."""
    plant = river()
    ctl = _Controller(plant, tmp_path)
    answers = [ctl.desk.submit(_setpoint(plant, f"sp-{k}", "bot"), T0) for k in range(3000)]
    assert sum(a.accepted for a in answers) == 16
    assert len(ctl.desk.active) == 16
    refused = answers[16]
    assert not refused.accepted and not refused.invalid  # refused, not garbage
    assert "operator 'bot' already holds 16 active requests" in refused.reason
    assert "max_per_operator" in refused.reason
    # another operator still gets through, and a cancel makes room again
    assert ctl.desk.submit(_setpoint(plant, "other-1", "alice"), T0).accepted
    cancel = CancelRequest(kind="cancel", id="c", target_id="sp-0", priority=100)
    assert ctl.desk.submit(cancel, T0).accepted
    assert ctl.desk.submit(_setpoint(plant, "sp-again", "bot"), T0).accepted
    ctl.close()
    rows = read_audit(tmp_path / AUDIT_FILE, kinds=["answer"])
    refused_rows = [r for r in rows if r.detail["accepted"] is False]
    assert len(refused_rows) == 3000 - 16
    assert len(StateStore(tmp_path / STATE_FILE).load_overrides()) == 17


def test_the_plant_wide_cap_and_its_configuration(tmp_path: Path) -> None:
    plant = river()
    caps = plant.with_control(overrides={"max_per_operator": 2, "max_total": 5}).control.overrides
    assert caps == OverridesConfig(max_per_operator=2, max_total=5)
    desk = OperatorDesk(plant.site, RulesPolicy(), FanOut([]), caps=caps)
    accepted = [
        desk.submit(_setpoint(plant, f"{who}-{k}", who), T0).accepted
        for who in ("a", "b", "c")
        for k in range(3)
    ]
    assert accepted == [True, True, False, True, True, False, True, False, False]
    answer = desk.submit(_setpoint(plant, "d-0", "d"), T0)
    assert not answer.accepted
    assert "the plant already holds 5 active requests" in answer.reason
    assert "max_total" in answer.reason


def test_caps_out_of_range_are_refused_with_the_field_named() -> None:
    from controller.config import ConfigError

    with pytest.raises(ConfigError, match="max_total"):
        river().with_control(overrides={"max_total": 0})


def test_an_unusable_state_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / STATE_FILE
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StateStoreError, match=f"{path}: not a usable state store"):
        StateStore(path)


def test_a_save_that_fails_is_told_to_the_operator_and_retried(tmp_path: Path) -> None:
    """Another process holds the file (a backup): the request still holds, the reply says a
    restart would lose it, and the next change saves the whole book."""
    plant = river()
    state = StateStore(tmp_path / STATE_FILE, lock_wait_s=0.05)
    desk = OperatorDesk(plant.site, RulesPolicy(), FanOut([]), state)
    blocker = sqlite3.connect(tmp_path / STATE_FILE, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    answer = desk.submit(_curtail("grid-1", T0 + 2 * H), T0)
    assert answer.accepted
    assert "not saved, a restart would lose it" in answer.reason
    assert state.save_errors_total == 1
    blocker.execute("ROLLBACK")
    blocker.close()
    assert desk.submit(_manual_off("maint-2", T0 + H), T0).accepted
    assert {r.request_id for r in state.load_overrides()} == {"grid-1", "maint-2"}
    state.close()
