"""Each unit's switching history in SQLite, so a restart does not forget the protections.

Without it a restarted controller would have to assume every unit had just switched (the safe
guess, which also blocks useful starts for a full minimum off time). Times are stored as UTC
and turned back into the cycle's monotonic seconds on load. Writes happen only when a history
changes (a confirmed start, stop or trip: a few times an hour), in WAL mode so that a killed
process loses nothing that was committed.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from controller.core.history import UnitHistory

SCHEMA = """
CREATE TABLE IF NOT EXISTS unit_history (
    unit TEXT PRIMARY KEY,
    compressor_on INTEGER NOT NULL,
    since_utc TEXT NOT NULL,
    recent_starts_utc TEXT NOT NULL,
    stopped_at_utc TEXT,
    tripped_since_utc TEXT,
    saved_utc TEXT NOT NULL,
    last_trip_utc TEXT,
    trip_cleared_utc TEXT
)
"""
# stores written before these were kept gain their columns (empty: no trip remembered, no
# reset hold running)
COLUMNS_ADDED = (("last_trip_utc", "TEXT"), ("trip_cleared_utc", "TEXT"))


@dataclass(frozen=True)
class _TimeBase:
    """Maps the cycle's monotonic seconds to UTC at one moment."""

    now_utc: datetime
    now_s: float

    def to_utc(self, seconds: float) -> datetime:
        return self.now_utc + timedelta(seconds=seconds - self.now_s)

    def to_s(self, when: datetime) -> float:
        return self.now_s + (when - self.now_utc).total_seconds()


class HistoryStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(SCHEMA)
        present = {row[1] for row in self._db.execute("PRAGMA table_info(unit_history)")}
        for column, kind in COLUMNS_ADDED:
            if column not in present:
                self._db.execute(f"ALTER TABLE unit_history ADD COLUMN {column} {kind}")
        self._saved: dict[str, UnitHistory] = {}

    def close(self) -> None:
        self._db.close()

    def load(self, now_utc: datetime, now_s: float) -> dict[str, UnitHistory]:
        base = _TimeBase(now_utc, now_s)
        out: dict[str, UnitHistory] = {}
        rows = self._db.execute(
            "SELECT unit, compressor_on, since_utc, recent_starts_utc, stopped_at_utc, "
            "tripped_since_utc, last_trip_utc, trip_cleared_utc FROM unit_history"
        )
        for unit, on, since, starts, stopped, tripped, last_trip, cleared in rows:
            history = UnitHistory(
                compressor_on=bool(on),
                since_s=base.to_s(_utc(since)),
                recent_starts_s=tuple(base.to_s(_utc(text)) for text in json.loads(starts)),
                stopped_at_s=None if stopped is None else base.to_s(_utc(stopped)),
                tripped_since_s=None if tripped is None else base.to_s(_utc(tripped)),
                last_trip_s=None if last_trip is None else base.to_s(_utc(last_trip)),
                trip_cleared_s=None if cleared is None else base.to_s(_utc(cleared)),
            )
            out[unit] = history
            self._saved[unit] = history
        return out

    def save_changed(
        self, histories: dict[str, UnitHistory], now_utc: datetime, now_s: float
    ) -> int:
        """Write the histories that differ from what is stored; returns how many."""
        base = _TimeBase(now_utc, now_s)
        changed = [(unit, h) for unit, h in histories.items() if self._saved.get(unit) != h]
        if not changed:
            return 0
        with self._db:
            self._db.execute("BEGIN")
            for unit, history in changed:
                self._db.execute(
                    "INSERT OR REPLACE INTO unit_history (unit, compressor_on, since_utc, "
                    "recent_starts_utc, stopped_at_utc, tripped_since_utc, saved_utc, "
                    "last_trip_utc, trip_cleared_utc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        unit,
                        int(history.compressor_on),
                        base.to_utc(history.since_s).isoformat(),
                        json.dumps([base.to_utc(s).isoformat() for s in history.recent_starts_s]),
                        None
                        if history.stopped_at_s is None
                        else base.to_utc(history.stopped_at_s).isoformat(),
                        None
                        if history.tripped_since_s is None
                        else base.to_utc(history.tripped_since_s).isoformat(),
                        now_utc.isoformat(),
                        _iso(base, history.last_trip_s),
                        _iso(base, history.trip_cleared_s),
                    ),
                )
        for unit, history in changed:
            self._saved[unit] = history
        return len(changed)


def _iso(base: _TimeBase, seconds: float | None) -> str | None:
    return None if seconds is None else base.to_utc(seconds).isoformat()


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)
