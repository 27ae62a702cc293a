"""The fault campaign's results: counts, findings and the printed summary."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from bench.chaos.faults_observer import PlantObserver


@dataclass
class Tally:
    """What the campaign counted besides the observer's findings."""

    faults: Counter[str] = field(default_factory=Counter)
    crashes: list[dict[str, object]] = field(default_factory=list)
    stalls: list[dict[str, object]] = field(default_factory=list)
    kills: list[dict[str, object]] = field(default_factory=list)
    lost_audit_rows: int = 0
    lost_overrides: int = 0
    notes: list[str] = field(default_factory=list)
    handed_back: bool | None = None  # every unit out of remote control after the final SIGTERM
    log_lines: list[str] = field(default_factory=list)  # the controller's log, all its runs


def campaign_results(
    plant_name: str,
    settings: dict[str, object],
    observer: PlantObserver,
    tally: Tally,
    sim_s: float,
    faulted_s: float,
    audit_rows_end: int | None,
) -> dict[str, object]:
    """The JSON results; `passed` when every count that must be zero is."""
    safety_kinds = ("supply_over_max", "tank_over_max")
    protection_kinds = ("early_start", "early_stop", "too_many_starts")
    kill_times = [float(k["sim_s"]) for k in tally.kills]  # type: ignore[arg-type]
    early_after_kill = [
        f
        for f in observer.breaks
        if f.kind == "early_start" and any(0 <= f.time_s - t <= 600 for t in kill_times)
    ]
    results: dict[str, object] = {
        "plant": plant_name,
        **settings,
        "faults_injected": sum(tally.faults.values()),
        "faults_by_kind": dict(sorted(tally.faults.items())),
        "fault_kinds": len(tally.faults),
        "kills": len(tally.kills),
        "safety_limit_crossings": sum(observer.count(k) for k in safety_kinds),
        "protection_breaks": sum(observer.count(k) for k in protection_kinds),
        "protection_breaks_by_kind": {k: observer.count(k) for k in protection_kinds},
        "excused_early_stops": observer.count("early_stop", excused=True),
        "loop_crashes": len(tally.crashes),
        "loop_stalls": len(tally.stalls),
        "lost_committed_audit_rows": tally.lost_audit_rows,
        "lost_overrides": tally.lost_overrides,
        "early_restarts_after_kill": len(early_after_kill),
        "handed_back_at_end": tally.handed_back,
        # the audit writer thread ending on an error (e.g. a full disk): no audit until restart
        "audit_writer_stops": sum("audit writer stopped" in line for line in tally.log_lines),
        "controller_tracebacks": sum(
            line.startswith("Traceback") or "Exception Group Traceback" in line
            for line in tally.log_lines
        ),
        "observer": {
            "samples": observer.samples,
            "starts": observer.starts,
            "stops": observer.stops,
            "trips": observer.trips,
            "simulated_s": round(sim_s, 1),
        },
        "audit_rows_at_end": audit_rows_end,
        "faulted_wall_s": round(faulted_s, 1),
        "findings": [f.as_dict() for f in observer.findings[:200]],
        "crashes": tally.crashes,
        "stalls": tally.stalls,
        "kill_details": tally.kills,
        "notes": tally.notes,
    }
    results["passed"] = (
        all(
            results[key] == 0
            for key in (
                "safety_limit_crossings",
                "protection_breaks",
                "loop_crashes",
                "loop_stalls",
                "lost_committed_audit_rows",
                "lost_overrides",
            )
        )
        and tally.handed_back is not False
    )
    return results


def summary(results: dict[str, object]) -> str:
    lines = [
        f"fault campaign on {results['plant']}: {results['faults_injected']} faults of "
        f"{results['fault_kinds']} kinds, {results['kills']} SIGKILL restarts, "
        f"wall {results['wall_time_s']} s, load {results['load_average']}",
        f"  by kind: {results['faults_by_kind']}",
    ]
    for key in (
        "safety_limit_crossings",
        "protection_breaks",
        "excused_early_stops",
        "loop_crashes",
        "loop_stalls",
        "lost_committed_audit_rows",
        "lost_overrides",
        "early_restarts_after_kill",
        "audit_writer_stops",
        "controller_tracebacks",
        "handed_back_at_end",
    ):
        lines.append(f"  {key}: {results[key]}")
    findings = results["findings"]
    assert isinstance(findings, list)
    for finding in findings[:20]:
        lines.append(f"    {finding}")
    lines.append("PASSED" if results["passed"] else "FAILED")
    return "\n".join(lines)
