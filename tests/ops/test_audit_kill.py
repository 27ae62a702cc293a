"""Nothing committed is lost when the process dies: a child writes events and reports each
committed batch, is killed with SIGKILL mid-run, and a restarted store has all it reported."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from controller.core.events import AuditEvent
from controller.telemetry.audit import AuditStore, read_audit
from tests.core.fakes import T0

REPO = Path(__file__).resolve().parents[2]

CHILD = """
import sys
from datetime import timedelta
from pathlib import Path
from controller.core.events import AuditEvent
from controller.telemetry.audit import AuditStore
from tests.core.fakes import T0

store = AuditStore(Path(sys.argv[1]))
for n in range(1, 1_000_001):
    store.record(AuditEvent(T0 + timedelta(seconds=n), "write", "hp1", {"n": n}))
    if n % 25 == 0:
        assert store.flush()
        print(n, flush=True)
"""


def test_committed_events_survive_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite3"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert child.stdout is not None
    reported = 0
    for line in child.stdout:
        reported = int(line)
        if reported >= 500:  # well into the run, with the writer thread busy
            break
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL
    assert reported >= 500

    restarted = AuditStore(path)  # opens the WAL the killed process left behind
    numbers = [row.detail["n"] for row in read_audit(path)]
    assert numbers[:reported] == list(range(1, reported + 1))
    assert numbers == list(range(1, len(numbers) + 1))  # nothing half-written, no gaps
    restarted.record(AuditEvent(T0, "fallback", None, {"to": "rules"}))
    assert restarted.flush()
    restarted.close()
    assert read_audit(path)[-1].kind == "fallback"
