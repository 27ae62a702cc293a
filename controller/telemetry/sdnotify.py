"""systemd readiness and watchdog (sd_notify) from the control cycle.

Under `Type=notify` with `WatchdogSec=`, systemd restarts the controller when it stops hearing
WATCHDOG=1. The ping is sent from the cycle itself, so a hung cycle is restarted, not merely a
dead process. Stale plant data does not stop the ping: a restart cannot mend a sensor, and the
cycle already hands a blind plant back to local control (/healthz reports it). Outside systemd
(no NOTIFY_SOCKET) this does nothing.
"""

from __future__ import annotations

import logging
import os
import socket

from controller.core.report import CycleReport
from drivers.clock import Clock

log = logging.getLogger(__name__)


class SystemdNotifier:
    """A cycle observer: READY=1 after the first cycle, WATCHDOG=1 at half the watchdog period."""

    def __init__(self, clock: Clock, environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self._clock = clock
        self._address = env.get("NOTIFY_SOCKET")
        watchdog_us = env.get("WATCHDOG_USEC")
        self._interval_s = int(watchdog_us) / 2e6 if watchdog_us and watchdog_us.isdigit() else None
        self._ready = False
        self._last_ping_s: float | None = None

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def observe(self, report: CycleReport) -> None:
        if self._address is None:
            return
        if not self._ready:
            self._ready = self.notify("READY=1\nSTATUS=controlling")
        if self._interval_s is None:
            return
        now_s = self._clock.monotonic_s()
        due = self._last_ping_s is None or now_s - self._last_ping_s >= self._interval_s
        if due:
            self.notify("WATCHDOG=1")
            self._last_ping_s = now_s

    def stopping(self) -> None:
        if self._address is not None:
            self.notify("STOPPING=1")

    def notify(self, message: str) -> bool:
        assert self._address is not None
        address = self._address
        if address.startswith("@"):  # abstract namespace socket
            address = "\0" + address[1:]
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.sendto(message.encode(), address)
        except OSError as exc:
            log.warning("sd_notify to %s failed: %s", self._address, exc)
            return False
        return True
