"""The audit store: what the controller did and was asked to do, in SQLite (WAL) in the data dir.

Recorded: every write to equipment (the heartbeat aside: it changes every cycle by design),
write errors, every operator request and its answer, every plan summary, every interlock trip,
every unit trip and its reset as measured, every dispatch policy failure and its recovery,
fallback transition (plan -> last plan -> rules, hand-back to local control) and override expiry.

`record` never blocks the cycle: events go to a writer thread that commits them in batches,
each batch one transaction, with `synchronous=FULL` so that a committed event survives a killed
process and a power cut. `flush` waits until everything recorded so far is committed.

With a retention, rows older than that before the newest committed event are deleted once per
day of event time, in short transactions; SQLite reuses the freed pages, so the file levels off
instead of growing for the life of the edge PC's disk.
"""

from __future__ import annotations

import json
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from controller.core.events import AuditEvent, EventSink

if TYPE_CHECKING:  # the audit reader (hpctl audit) should not load the solver
    from controller.core.plan import Plan
    from controller.core.report import CycleReport, PolicyFailure

log = logging.getLogger(__name__)

AUDIT_FILE = "audit.sqlite3"
BATCH_MAX = 500
PRUNE_CHUNK_ROWS = 5_000  # per transaction, so a first prune of a large store never stalls writes
WRITE_RETRY_S = 5.0  # while the disk refuses a commit, try again this often

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at_utc TEXT NOT NULL,
    kind TEXT NOT NULL,
    equipment TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_at ON audit (at_utc);
CREATE INDEX IF NOT EXISTS audit_equipment ON audit (equipment, at_utc);
"""


def utc_text(when: datetime) -> str:
    """A fixed-width UTC text that sorts like the time it names."""
    if when.tzinfo is None:
        raise ValueError(f"audit time {when!r} has no time zone")
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class FanOut:
    """Hands every event to several sinks (the audit store, the MQTT bridge)."""

    def __init__(self, sinks: Iterable[EventSink] = ()) -> None:
        self.sinks: list[EventSink] = list(sinks)

    def record(self, event: AuditEvent) -> None:
        for sink in self.sinks:
            sink.record(event)


class AuditStore:
    """Append-only event log with a writer thread; `record` is safe to call from the cycle."""

    def __init__(
        self, path: Path, max_pending: int = 100_000, retention_days: int | None = None
    ) -> None:
        if retention_days is not None and retention_days < 1:
            raise ValueError(f"audit retention of {retention_days} days: must be at least 1")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.retention_days = retention_days
        self.written_total = 0
        self.dropped_total = 0  # only if the disk stalls for a very long time
        self.pruned_total = 0
        self.write_errors_total = 0  # failed commits (disk full, I/O error), each retried
        self._pruned_on: date | None = None
        self._queue: queue.Queue[tuple[int, AuditEvent] | None] = queue.Queue(max_pending)
        self._recorded = 0
        self._committed = 0
        self._failed: BaseException | None = None
        self._done = threading.Condition()
        self._closing = threading.Event()
        db = _connect(path)  # schema and WAL before the constructor returns: errors surface here
        db.executescript(SCHEMA)
        db.close()
        self._thread = threading.Thread(target=self._write_loop, name="audit-writer", daemon=True)
        self._thread.start()

    def record(self, event: AuditEvent) -> None:
        with self._done:
            try:
                self._queue.put_nowait((self._recorded + 1, event))
            except queue.Full:
                self.dropped_total += 1
                log.error("audit queue full: %s event dropped", event.kind)
                return
            self._recorded += 1

    def flush(self, timeout_s: float | None = 30.0) -> bool:
        """Wait until every event recorded before this call is committed; False on timeout."""
        with self._done:
            target = self._recorded
            return self._done.wait_for(
                lambda: self._committed >= target or self._failed is not None, timeout_s
            ) and (self._failed is None)

    def close(self) -> None:
        self.flush()
        self._closing.set()
        self._queue.put(None)
        self._thread.join()

    def _write_loop(self) -> None:
        db = _connect(self.path)
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                batch = [first]
                stop = False
                while len(batch) < BATCH_MAX:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:
                        stop = True
                        break
                    batch.append(item)
                if not self._commit_retrying(db, batch):
                    return
                if stop:
                    return
        except BaseException as exc:
            log.exception("audit writer stopped")
            with self._done:
                self._failed = exc
                self._done.notify_all()
        finally:
            db.close()

    def _commit_retrying(self, db: sqlite3.Connection, batch: list[tuple[int, AuditEvent]]) -> bool:
        """Commit the batch, retrying while the database refuses (a full disk, an I/O error):
        the rows wait in memory, later ones in the queue, and the trail resumes when space
        returns. False when the store is being closed and the batch still cannot be written."""
        failures = 0
        while True:
            try:
                self._commit(db, batch)
            except sqlite3.Error as exc:
                failures += 1
                with self._done:
                    self.write_errors_total += 1
                if failures == 1:
                    log.error(
                        "audit store %s: cannot commit %d events (%s); retrying every %.0f s",
                        self.path,
                        len(batch),
                        exc,
                        WRITE_RETRY_S,
                    )
                if self._closing.is_set():
                    log.error(
                        "audit store %s: closing with %d events not committed (%s)",
                        self.path,
                        len(batch) + self._queue.qsize(),
                        exc,
                    )
                    return False
                self._closing.wait(WRITE_RETRY_S)
                continue
            if failures:
                log.warning(
                    "audit store %s: committing again after %d failed attempts", self.path, failures
                )
            return True

    def _commit(self, db: sqlite3.Connection, batch: list[tuple[int, AuditEvent]]) -> None:
        rows = [
            (
                utc_text(event.at_utc),
                event.kind,
                event.equipment,
                json.dumps(event.detail, default=str, sort_keys=True),
            )
            for _, event in batch
        ]
        with db:
            db.executemany(
                "INSERT INTO audit (at_utc, kind, equipment, detail) VALUES (?, ?, ?, ?)", rows
            )
        with self._done:
            self.written_total += len(rows)
            self._committed = max(self._committed, batch[-1][0])
            self._done.notify_all()
        newest = max(event.at_utc for _, event in batch).astimezone(UTC)
        if self.retention_days is not None and newest.date() != self._pruned_on:
            self._prune(db, newest - timedelta(days=self.retention_days))
            self._pruned_on = newest.date()

    def _prune(self, db: sqlite3.Connection, before_utc: datetime) -> None:
        """Delete rows older than `before_utc`, a chunk per transaction."""
        cutoff = utc_text(before_utc)
        pruned = 0
        while True:
            with db:
                deleted = db.execute(
                    "DELETE FROM audit WHERE id IN "
                    "(SELECT id FROM audit WHERE at_utc < ? ORDER BY at_utc LIMIT ?)",
                    (cutoff, PRUNE_CHUNK_ROWS),
                ).rowcount
            pruned += deleted
            with self._done:
                self.pruned_total += deleted
            if deleted < PRUNE_CHUNK_ROWS:
                break
        if pruned:
            log.info("audit store: %d rows before %s pruned", pruned, cutoff)


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    return db


@dataclass(frozen=True, slots=True)
class AuditRow:
    id: int
    at_utc: str
    kind: str
    equipment: str | None
    detail: dict[str, object]


def read_audit(
    path: Path,
    since_utc: datetime | None = None,
    equipment: str | None = None,
    kinds: Iterable[str] = (),
    limit: int | None = None,
) -> list[AuditRow]:
    """Rows in the order they were written, optionally from a time, for one equipment, kinds;
    with `limit`, only the newest `limit` of them (still oldest first)."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: no audit store here")
    clauses: list[str] = []
    params: list[str | int] = []
    if since_utc is not None:
        clauses.append("at_utc >= ?")
        params.append(utc_text(since_utc))
    if equipment is not None:
        clauses.append("equipment = ?")
        params.append(equipment)
    wanted = list(kinds)
    if wanted:
        clauses.append(f"kind IN ({', '.join('?' for _ in wanted)})")
        params.extend(wanted)
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        if limit is None:
            rows = db.execute(
                f"SELECT id, at_utc, kind, equipment, detail FROM audit{where} ORDER BY id", params
            ).fetchall()
        else:
            newest = db.execute(
                f"SELECT id, at_utc, kind, equipment, detail FROM audit{where} "
                "ORDER BY id DESC LIMIT ?",
                [*params, limit],
            ).fetchall()
            rows = newest[::-1]
    finally:
        db.close()
    return [AuditRow(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]


def plan_summary(plan: Plan) -> dict[str, object]:
    """What an auditor needs of a plan: when, how it was found, what it costs."""
    inputs = plan.inputs
    return {
        "status": plan.status,
        "usable": plan.usable,
        "start_utc": utc_text(inputs.start_utc),
        "valid_until_utc": utc_text(plan.valid_until_utc),
        "steps": inputs.steps,
        "step_s": inputs.step_s,
        "objective_eur": _finite(plan.objective_eur),
        "mip_gap": _finite(plan.mip_gap),
        "solve_time_s": round(plan.solve_time_s, 3),
        "start": plan.start,
        "time_to_first_solution_s": _finite(plan.time_to_first_solution_s),
        "electricity_eur": _finite(plan.electricity_eur),
        "boiler_fuel_eur": _finite(plan.boiler_fuel_eur),
        "carbon_t": _finite(plan.carbon_t),
        "message": plan.message,
    }


def _finite(value: float) -> float | None:
    return None if value != value else round(value, 4)  # NaN (no schedule) is null in JSON


DISPATCH_RUNGS = ("rules", "last_plan", "plan")  # worst to best, as runtime.plan_policy


def rung_change_kind(before: str | None, after: str) -> str:
    """`recovery` for a move up the dispatch ladder (rules -> plan), else `fallback` (down,
    the first rung taken, or a source off the ladder such as merit)."""
    on_ladder = before in DISPATCH_RUNGS and after in DISPATCH_RUNGS
    if on_ladder and DISPATCH_RUNGS.index(after) > DISPATCH_RUNGS.index(str(before)):
        return "recovery"
    return "fallback"


def _failure_key(failure: PolicyFailure | None) -> tuple[str, str] | None:
    return None if failure is None else failure.key


class AuditObserver:
    """Turns cycle reports into audit events: writes, interlocks, transitions, new plans."""

    def __init__(
        self,
        sink: EventSink,
        plan_source: Callable[[], Plan | None] | None = None,
        heartbeat_points: set[str] | None = None,
    ) -> None:
        self._sink = sink
        self._plan_source = plan_source
        self._heartbeat = heartbeat_points or set()
        self._source: str | None = None
        self._handed_back = False
        self._policy_failure: PolicyFailure | None = None
        self._plan: Plan | None = None
        # device -> point -> value last recorded as written: the cycle writes every command
        # again each minute (outputs.REFRESH_S), and a rewrite of the same value is no event
        self._recorded: dict[str, dict[str, float]] = {}

    def observe(self, report: CycleReport) -> None:
        now = report.state.now_utc
        emit = self._sink.record
        for trip in report.trips:
            trip_detail: dict[str, object] = {
                "alarm_code": trip.alarm_code,
                "what": trip.describe(),
            }
            if trip.kind == "reset":
                trip_detail |= {"tripped_for_s": trip.tripped_for_s, "hold_s": trip.hold_s}
            kind = "unit_trip" if trip.kind == "trip" else "unit_trip_reset"
            emit(AuditEvent(now, kind, trip.unit, trip_detail))
        for interlock in report.new_interlocks:
            detail: dict[str, object] = {"reason": interlock.reason, "detail": interlock.detail}
            emit(AuditEvent(now, "interlock", interlock.equipment, detail))
        failure = report.policy_failure
        before = self._policy_failure
        if _failure_key(failure) != _failure_key(before):  # begins, changes or ends: once each
            if failure is not None:
                failed: dict[str, object] = {
                    "policy": failure.policy,
                    "error": failure.error,
                    "fallback": "rules",
                }
                emit(AuditEvent(now, "policy_error", None, failed))
            elif before is not None:
                recovered: dict[str, object] = {"policy": before.policy}
                emit(AuditEvent(now, "policy_recovered", None, recovered))
            self._policy_failure = failure
        source = report.targets.source
        if source != self._source:
            change: dict[str, object] = {"from": self._source, "to": source}
            if report.targets.source_reason:
                change["reason"] = report.targets.source_reason
            emit(AuditEvent(now, rung_change_kind(self._source, source), None, change))
            self._source = source
        if report.handed_back != self._handed_back:
            what = "handed back to local control" if report.handed_back else "supervising again"
            handback: dict[str, object] = {"active": report.handed_back, "what": what}
            if report.read_only:  # the safe commands were decided, but nothing was written
                handback = {
                    "active": False,
                    "read_only": True,
                    "what": f"would have {what} (read-only: not written)"
                    if report.handed_back
                    else "would supervise again (read-only: not written)",
                }
            emit(AuditEvent(now, "handback", None, handback))
            self._handed_back = report.handed_back
        plan = self._plan_source() if self._plan_source is not None else None
        if plan is not None and plan is not self._plan:
            emit(AuditEvent(now, "plan", None, plan_summary(plan)))
            self._plan = plan

        # decisions first, then the writes that carried them out
        for device, values in report.writes.items():
            written = {k: v for k, v in values.items() if k not in self._heartbeat}
            if device in report.write_errors:
                self._recorded.pop(device, None)  # what the device holds is not known now
                if written:
                    emit(AuditEvent(now, "write", device, {"values": written, "ok": False}))
                continue
            recorded = self._recorded.setdefault(device, {})
            changed = {k: v for k, v in written.items() if recorded.get(k) != v}
            recorded.update(written)
            if changed:
                emit(AuditEvent(now, "write", device, {"values": changed, "ok": True}))
        for device, error in report.write_errors.items():
            emit(AuditEvent(now, "write_error", device, {"error": error}))
