"""A full disk pauses the audit trail and the history store; neither stops for good.

Found by `make chaos-faults` (a 32 MB tmpfs filled under a live `hpctl run`): the audit writer
thread ended at the first refused commit ("audit writer stopped") and never resumed when space
returned, and the unit history store's `database or disk is full` escaped into the control
cycle, which handed the plant back and exited; every restart died again within seconds.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from controller.core.estimate import estimate
from controller.core.events import AuditEvent
from controller.runtime.persist import HistoryStore
from controller.runtime.unit_histories import UnitHistories
from controller.telemetry import audit as audit_module
from controller.telemetry.audit import AuditStore
from tests.core.fakes import T0, plant_snapshot, river


class _FullDisk:
    """Refuses commits as SQLite does on a full disk while `full` is set."""

    def __init__(self) -> None:
        self.full = threading.Event()
        self.refused = threading.Event()

    def check(self) -> None:
        if self.full.is_set():
            self.refused.set()
            raise sqlite3.OperationalError("database or disk is full")


def test_the_audit_trail_waits_out_a_full_disk_and_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk = _FullDisk()
    real_commit = AuditStore._commit

    def commit(self: AuditStore, db: sqlite3.Connection, batch: list) -> None:  # type: ignore[type-arg]
        disk.check()
        real_commit(self, db, batch)

    monkeypatch.setattr(AuditStore, "_commit", commit)
    monkeypatch.setattr(audit_module, "WRITE_RETRY_S", 0.05)
    store = AuditStore(tmp_path / "audit.sqlite3")
    store.record(AuditEvent(T0, "fallback", None, {"n": 0}))
    assert store.flush()
    disk.full.set()
    for n in range(1, 4):
        store.record(AuditEvent(T0 + timedelta(seconds=n), "fallback", None, {"n": n}))
    assert disk.refused.wait(30.0)
    assert not store.flush(timeout_s=0.2)  # not committed while the disk is full
    disk.full.clear()  # space returns
    assert store.flush()
    store.record(AuditEvent(T0 + timedelta(seconds=9), "fallback", None, {"n": 9}))
    store.close()
    with sqlite3.connect(tmp_path / "audit.sqlite3") as db:
        rows = [row[0] for row in db.execute("SELECT detail FROM audit ORDER BY id")]
    assert rows == ['{"n": 0}', '{"n": 1}', '{"n": 2}', '{"n": 3}', '{"n": 9}']
    assert store.write_errors_total >= 1
    assert store.written_total == 5


class _RefusingStore(HistoryStore):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.full = True

    def save_changed(self, histories, now_utc, now_s):  # type: ignore[no-untyped-def]
        if self.full:
            raise sqlite3.OperationalError("database or disk is full")
        return super().save_changed(histories, now_utc, now_s)


def test_the_cycle_keeps_its_histories_when_the_store_refuses_and_saves_them_later(
    tmp_path: Path,
) -> None:
    plant = river()
    store = _RefusingStore(tmp_path / "unit_history.sqlite3")
    histories = UnitHistories(store)
    snap = plant_snapshot(plant.site, 70.0, {"hp1": True})
    state = estimate(snap, plant.site)
    folded = histories.fold(state)  # no exception: the cycle goes on
    assert folded["hp1"].compressor_on
    assert histories.save_errors_total == 1
    store.full = False
    histories.fold(state)
    store.close()
    reopened = HistoryStore(tmp_path / "unit_history.sqlite3")
    assert set(reopened.load(state.now_utc, state.now_s)) == {
        spec.name for spec in plant.site.units
    }
    reopened.close()
