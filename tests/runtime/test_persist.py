"""Switching history survives a restart: protections are not forgotten, nor over-applied."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from controller.core.estimate import estimate
from controller.core.history import UnitHistory
from controller.core.stage import may_start
from controller.runtime.persist import HistoryStore
from tests.core.fakes import plant_snapshot, river

T0 = datetime(2024, 1, 9, 6, 0, tzinfo=UTC)


def test_round_trip_across_a_restart_with_a_new_monotonic_base(tmp_path: Path) -> None:
    path = tmp_path / "data" / "unit_history.sqlite3"
    store = HistoryStore(path)
    history = UnitHistory(
        compressor_on=False, since_s=1000.0, recent_starts_s=(100.0, 400.0), stopped_at_s=1000.0
    )
    assert store.save_changed({"hp1": history}, T0, 1200.0) == 1
    assert store.save_changed({"hp1": history}, T0, 1200.0) == 0  # unchanged: no write
    store.close()
    # the process restarts 10 minutes later; its monotonic clock starts near zero again
    reopened = HistoryStore(path)
    loaded = reopened.load(T0 + timedelta(minutes=10), 5.0)["hp1"]
    assert not loaded.compressor_on
    assert loaded.off_for_s(5.0) == 200.0 + 600.0
    assert loaded.starts_last_hour(5.0) == 2
    reopened.close()


def test_a_restart_keeps_the_starts_limit(tmp_path: Path) -> None:
    plant = river()
    spec = plant.site.units[0]
    store = HistoryStore(tmp_path / "h.sqlite3")
    # two starts in the last hour and a long standstill: the river units allow 2 starts an hour
    history = UnitHistory(
        compressor_on=False,
        since_s=-1500.0,
        recent_starts_s=(-3000.0, -2500.0),
        stopped_at_s=-1500.0,
    )
    store.save_changed({spec.name: history}, T0, 0.0)
    store.close()
    loaded = HistoryStore(tmp_path / "h.sqlite3").load(T0 + timedelta(seconds=60), 60.0)[spec.name]
    check = may_start(spec, loaded, 60.0, 300.0)
    assert not check.allowed and "starts limit" in check.why_not
    # an hour after the first start the window has moved on
    assert may_start(spec, loaded, 60.0 + 700.0, 300.0).allowed


def test_cycle_uses_stored_history_only_when_the_unit_is_in_the_recorded_state(
    tmp_path: Path,
) -> None:
    from controller.runtime.cycle import ControlCycle

    plant = river()
    store = HistoryStore(tmp_path / "h.sqlite3")
    store.save_changed(
        {
            "hp1": UnitHistory(
                compressor_on=False, since_s=-5000.0, recent_starts_s=(), stopped_at_s=-5000.0
            ),
            "hp2": UnitHistory(
                compressor_on=False, since_s=-5000.0, recent_starts_s=(), stopped_at_s=-5000.0
            ),
        },
        T0,
        0.0,
    )
    snapshot = plant_snapshot(plant.site, 60.0, {"hp2": True}, now_s=0.0)  # hp2 started meanwhile
    snapshot.now_utc = T0

    class Pool:
        def snapshot(self):  # type: ignore[no-untyped-def]
            return snapshot

        async def write(self, device: str, values: dict[str, float]) -> None:
            return None

    import asyncio

    from drivers.clock import SimClock

    cycle = ControlCycle(
        plant.with_control(read_only=True), Pool(), SimClock(T0), history_store=store
    )
    report = asyncio.run(cycle.tick())
    assert report.histories["hp1"].off_for_s(0.0) == 5000.0  # stored history kept
    assert report.histories["hp2"].on_for_s(0.0) == 0.0  # state changed: conservative start
    assert estimate(snapshot, plant.site).unit("hp2").compressor_on


def test_the_last_trip_survives_a_restart_and_an_older_store_gains_its_column(
    tmp_path: Path,
) -> None:
    import sqlite3

    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)  # the table as stores were written before the last trip was kept
    old.execute(
        "CREATE TABLE unit_history (unit TEXT PRIMARY KEY, compressor_on INTEGER NOT NULL, "
        "since_utc TEXT NOT NULL, recent_starts_utc TEXT NOT NULL, stopped_at_utc TEXT, "
        "tripped_since_utc TEXT, saved_utc TEXT NOT NULL)"
    )
    old.execute(
        "INSERT INTO unit_history VALUES ('hp2', 0, ?, '[]', NULL, NULL, ?)",
        (T0.isoformat(), T0.isoformat()),
    )
    old.commit()
    old.close()
    store = HistoryStore(path)
    assert store.load(T0, 0.0)["hp2"].last_trip_s is None
    history = UnitHistory(
        compressor_on=False, since_s=-600.0, recent_starts_s=(), last_trip_s=-1800.0
    )
    store.save_changed({"hp1": history}, T0, 0.0)
    store.close()
    loaded = HistoryStore(path).load(T0 + timedelta(minutes=10), 50.0)["hp1"]
    assert loaded.last_trip_s == 50.0 - 600.0 - 1800.0
