"""The units' switching histories from cycle to cycle, kept across restarts by the store."""

from __future__ import annotations

import logging
import sqlite3

from controller.core.estimate import PlantState
from controller.core.history import UnitHistory, cycle_histories, fold_histories
from controller.runtime.persist import HistoryStore

log = logging.getLogger(__name__)


class UnitHistories:
    """Folds each cycle's measured unit states into the histories and saves those that changed.

    The store (None: nothing outlives the process) is read once, at the first cycle, because
    its times are turned into the cycle's monotonic seconds at that moment.
    """

    def __init__(self, store: HistoryStore | None = None) -> None:
        self._store = store
        self._stored: dict[str, UnitHistory] | None = None
        self._known: dict[str, UnitHistory] = {}
        self.save_errors_total = 0
        self._saving_failed = False

    @property
    def known(self) -> dict[str, UnitHistory]:
        """The histories of the units whose state has been seen (a copy)."""
        return dict(self._known)

    def fold(self, state: PlantState) -> dict[str, UnitHistory]:
        """Take in this cycle's state; returns a history for every unit, for this cycle."""
        if self._stored is None:
            self._stored = (
                self._store.load(state.now_utc, state.now_s) if self._store is not None else {}
            )
        self._known = fold_histories(self._known, self._stored, state.units, state.now_s)
        if self._store is not None:
            self._save(state)
        return cycle_histories(self._known, state.units, state.now_s)

    def _save(self, state: PlantState) -> None:
        """Persist what changed. A store that refuses (a full disk) must not stop the cycle:
        the histories the protections use are the ones in memory; the store only carries them
        across a restart, and a restart without them counts every unit as just switched, which
        holds starts back rather than allowing early ones. Logged once per episode, counted;
        what changed is written on the next cycle that succeeds."""
        assert self._store is not None
        try:
            self._store.save_changed(self._known, state.now_utc, state.now_s)
        except sqlite3.Error as exc:
            self.save_errors_total += 1
            if not self._saving_failed:
                log.error("unit histories not saved (%s); the cycle goes on, retrying", exc)
            self._saving_failed = True
            return
        if self._saving_failed:
            log.warning("unit histories saved again")
        self._saving_failed = False
