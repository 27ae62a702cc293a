"""The audit store: what goes in comes out, filtered by time, equipment and kind; the cycle's
reports become events; `hpctl audit` prints them."""

from __future__ import annotations

import argparse
import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from controller.app import audit_cli
from controller.app.cli import main
from controller.runtime.cycle import ControlCycle
from controller.runtime.outputs import REFRESH_S
from controller.telemetry.audit import (
    AuditEvent,
    AuditObserver,
    AuditStore,
    FanOut,
    read_audit,
)
from drivers.clock import SimClock
from tests.core.fakes import T0, river
from tests.ops.mqtt_rig import FakePool


def test_events_come_back_in_order_and_filtered(tmp_path: Path) -> None:
    store = AuditStore(tmp_path / "audit.sqlite3")
    for minute in range(6):
        unit = "hp1" if minute % 2 == 0 else "hp2"
        store.record(AuditEvent(T0 + timedelta(minutes=minute), "write", unit, {"n": minute}))
    store.record(AuditEvent(T0 + timedelta(minutes=7), "fallback", None, {"to": "rules"}))
    store.close()
    every = read_audit(store.path)
    assert [row.detail.get("n") for row in every] == [0, 1, 2, 3, 4, 5, None]
    later = read_audit(store.path, since_utc=T0 + timedelta(minutes=3))
    assert [row.detail.get("n") for row in later] == [3, 4, 5, None]
    hp1 = read_audit(store.path, equipment="hp1")
    assert [row.detail["n"] for row in hp1] == [0, 2, 4]
    assert [row.kind for row in read_audit(store.path, kinds=["fallback"])] == ["fallback"]
    assert every[0].at_utc == "2024-01-08T00:00:00.000000Z"
    assert store.written_total == 7


def test_rows_older_than_the_retention_are_pruned_once_a_day(tmp_path: Path) -> None:
    store = AuditStore(tmp_path / "audit.sqlite3", retention_days=7)
    for day in range(10):  # an event at 06:00 and 18:00 of ten days
        for hour in (6, 18):
            store.record(AuditEvent(T0 + timedelta(days=day, hours=hour), "write", "hp1", {}))
            assert store.flush()
    store.close()
    rows = read_audit(store.path)
    # the prune of day 9 ran on its first event (06:00) and cut at day 2 06:00: a row outlives
    # the retention by less than a day
    assert rows[0].at_utc == "2024-01-10T06:00:00.000000Z"
    assert len(rows) == 16
    assert store.pruned_total == 4
    assert store.written_total == 20


def test_retention_prunes_a_large_backlog_in_chunks(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite3"
    old = AuditStore(path)
    for second in range(12_000):  # more than two prune chunks, all a year old
        old.record(AuditEvent(T0 + timedelta(seconds=second), "write", "hp1", {}))
    old.close()
    store = AuditStore(path, retention_days=30)
    store.record(AuditEvent(T0 + timedelta(days=365), "plan", None, {}))
    store.close()
    assert [row.kind for row in read_audit(path)] == ["plan"]
    assert store.pruned_total == 12_000


def test_without_retention_nothing_is_pruned(tmp_path: Path) -> None:
    store = AuditStore(tmp_path / "audit.sqlite3")
    store.record(AuditEvent(T0, "write", "hp1", {}))
    store.record(AuditEvent(T0 + timedelta(days=3650), "write", "hp1", {}))
    store.close()
    assert len(read_audit(store.path)) == 2
    with pytest.raises(ValueError, match="at least 1"):
        AuditStore(tmp_path / "other.sqlite3", retention_days=0)


def test_a_naive_time_is_refused(tmp_path: Path) -> None:
    store = AuditStore(tmp_path / "audit.sqlite3")
    try:
        with pytest.raises(ValueError, match="no time zone"):
            read_audit(store.path, since_utc=T0.replace(tzinfo=None))
    finally:
        store.close()


def test_the_store_is_in_wal_mode(tmp_path: Path) -> None:
    store = AuditStore(tmp_path / "audit.sqlite3")
    store.close()
    db = sqlite3.connect(store.path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


async def test_cycle_reports_become_writes_interlocks_and_transitions(tmp_path: Path) -> None:
    plant = river().with_control(policy="rules")
    clock = SimClock(T0)
    store = AuditStore(tmp_path / "audit.sqlite3")
    heartbeat = {p.name for m in plant.maps.values() for p in m.by_role("heartbeat")}
    pool = FakePool(plant, clock)
    observer = AuditObserver(FanOut([store]), heartbeat_points=heartbeat)
    cycle = ControlCycle(plant, pool, clock, observers=[observer])
    await cycle.tick()
    clock.advance(2.0)
    second = await cycle.tick()  # hp2 stays off: only its heartbeat changes
    assert set(second.writes["hp2"]) <= heartbeat
    pool.tank_temp_c = 84.0  # at the tank's limit: one interlock event, however long it lasts
    clock.advance(2.0)
    await cycle.tick()
    clock.advance(2.0)
    await cycle.tick()
    store.close()
    rows = read_audit(store.path)
    kinds = [row.kind for row in rows]
    assert kinds[0] == "fallback" and rows[0].detail == {"from": None, "to": "rules"}
    writes = [row for row in rows if row.kind == "write"]
    first_cycle = [row for row in writes if row.at_utc == "2024-01-08T00:00:00.000000Z"]
    assert {row.equipment for row in first_cycle} >= {"hp1", "hp2", "v_hp1", "v_hp2"}
    second_cycle = {row.equipment for row in writes if row.at_utc.startswith("2024-01-08T00:00:02")}
    assert "hp2" not in second_cycle
    assert all(name not in row.detail["values"] for row in writes for name in heartbeat)  # type: ignore[operator]
    trips = [row for row in rows if row.kind == "interlock"]
    assert len(trips) == 1
    assert trips[0].equipment == "hp1"
    assert trips[0].detail["reason"] == "tank_high_temp"


def _run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    parser = argparse.ArgumentParser()
    audit_cli.add_arguments(parser)
    code = audit_cli.run(parser.parse_args(argv))
    return code, capsys.readouterr().out


def test_hpctl_audit_prints_since_and_per_unit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = AuditStore(tmp_path / "audit.sqlite3")
    store.record(AuditEvent(T0, "request", "hp1", {"id": "a"}))
    store.record(AuditEvent(T0 + timedelta(hours=1), "answer", "hp1", {"id": "a"}))
    store.record(AuditEvent(T0 + timedelta(hours=2), "write", "hp2", {"values": {"x": 1}}))
    store.close()
    code, out = _run_cli(["--db", str(store.path), "--since", "2024-01-08T00:30:00Z"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("2024-01-08T01:00:00.000000Z  answer")
    assert "hp1" in lines[0]
    code, out = _run_cli(["--db", str(store.path), "--unit", "hp2", "--json"], capsys)
    assert [json.loads(line)["kind"] for line in out.splitlines()] == ["write"]
    code, _ = _run_cli(["--db", str(tmp_path / "none.sqlite3")], capsys)
    assert code == 2


def test_hpctl_audit_through_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = AuditStore(tmp_path / "audit.sqlite3")
    store.record(AuditEvent(T0, "interlock", "hp1", {"reason": "unit_tripped"}))
    store.record(AuditEvent(T0, "interlock", "hp2", {"reason": "unit_tripped"}))
    store.close()
    assert main(["audit", "--db", str(store.path), "--unit", "hp2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1
    assert "interlock" in out[0] and "hp2" in out[0]
    with pytest.raises(SystemExit):  # argparse refuses a time it cannot read
        main(["audit", "--db", str(store.path), "--since", "yesterday"])


async def test_the_minutely_rewrite_of_unchanged_commands_is_no_audit_event(
    tmp_path: Path,
) -> None:
    """The cycle writes every command again each REFRESH_S; the audit records what changed."""
    plant = river().with_control(policy="rules")
    clock = SimClock(T0)
    store = AuditStore(tmp_path / "audit.sqlite3")
    heartbeat = {p.name for m in plant.maps.values() for p in m.by_role("heartbeat")}
    pool = FakePool(plant, clock, running={}, tank_temp_c=80.0)  # full tank: the units stay off
    observer = AuditObserver(FanOut([store]), heartbeat_points=heartbeat)
    cycle = ControlCycle(plant, pool, clock, observers=[observer])
    refreshed = []
    for _ in range(round(2 * REFRESH_S / plant.control.cycle_s) + 1):
        report = await cycle.tick()
        if "v_hp1" in report.writes:
            refreshed.append(clock.monotonic_s())
        clock.advance(plant.control.cycle_s)
    store.close()
    assert refreshed == [0.0, REFRESH_S, 2 * REFRESH_S]  # the first write, then refreshes
    # the run-on after the units' stop ends at the first refresh: the valves close then, a
    # change; at the second refresh nothing changed, and nothing is recorded
    written_at = {row.at_utc for row in read_audit(store.path) if row.kind == "write"}
    assert written_at == {"2024-01-08T00:00:00.000000Z", "2024-01-08T00:01:00.000000Z"}
