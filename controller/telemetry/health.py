"""The /healthz judgement: alive (a cycle within a few periods) and the plant's data fresh.

Judged on demand (each request, each scrape of `hpctl_healthy`), not per cycle: a stuck cycle
never observes again, yet must be reported unhealthy.
"""

from __future__ import annotations

from controller.core.report import CycleReport

HEALTHY_CYCLES = 3  # /healthz fails when the last cycle is older than this many periods


def judge_health(
    report: CycleReport | None, now_s: float, period_s: float, read_only: bool = False
) -> tuple[bool, dict[str, object]]:
    """(healthy, the JSON body) for the last cycle's report, at `now_s` on the controller's
    monotonic Clock, with cycles due every `period_s`. `read_only` (commissioning: nothing is
    written) is said in the body: a healthy read-only controller controls nothing."""
    if report is None:
        return False, {
            "status": "unhealthy",
            "reasons": ["no control cycle has run yet"],
            "read_only": read_only,
        }
    age_s = now_s - report.state.now_s
    reasons = []
    if age_s > HEALTHY_CYCLES * period_s:
        reasons.append(f"last cycle {age_s:.1f} s ago (period {period_s:g} s)")
    reasons += [f"tank {t.name}: data not fresh" for t in report.state.tanks if not t.data_good]
    reasons += [f"unit {u.name}: data not fresh" for u in report.state.units if not u.data_good]
    body: dict[str, object] = {
        "status": "unhealthy" if reasons else "ok",
        "reasons": reasons,
        "last_cycle_age_s": round(age_s, 3),
        "last_cycle_utc": report.state.now_utc.isoformat(),
        "cycle": report.number,
        "policy": report.targets.source,
        "read_only": read_only,
    }
    return not reasons, body
