"""The fault campaign's observer flags what it must, from a synthetic trace of the plant."""

from __future__ import annotations

from bench.chaos.faults_observer import (
    OFF,
    RUNNING,
    STARTING,
    STOPPING,
    TRIPPED,
    PlantObserver,
    PlantSample,
    UnitLimits,
    UnitSample,
)

LIMITS = UnitLimits(
    max_supply_temp_c=90.0, min_run_s=1800.0, min_off_s=900.0, max_starts_per_hour=2
)


def _observer() -> PlantObserver:
    return PlantObserver({"hp1": LIMITS}, {"tank1": 85.0})


def _feed(
    observer: PlantObserver,
    states: list[tuple[float, int]],
    top_c: float = 75.0,
    excused: frozenset[str] = frozenset(),
) -> None:
    """Per second from the first time to the last, the unit in the state last listed."""
    times = [t for t, _ in states]
    current = OFF
    marks = dict(states)
    for second in range(int(times[0]), int(times[-1]) + 1):
        current = marks.get(float(second), current)
        unit = UnitSample(current, 80.0 if current == RUNNING else 45.0, remote=True)
        observer.sample(PlantSample(float(second), {"hp1": unit}, {"tank1": top_c}, excused))


def test_a_restart_inside_the_minimum_off_time_is_a_break() -> None:
    observer = _observer()
    # start at 0, run 2,000 s (past min run), stop, restart only 300 s later
    _feed(
        observer,
        [
            (0.0, OFF),
            (1.0, STARTING),
            (181.0, RUNNING),
            (2001.0, STOPPING),
            (2031.0, OFF),
            (2301.0, STARTING),
            (2310.0, STARTING),
        ],
    )
    kinds = [f.kind for f in observer.breaks]
    assert kinds == ["early_start"]
    assert observer.breaks[0].time_s == 2301.0
    assert "300 s after a stop" in observer.breaks[0].detail


def test_a_restart_after_the_minimum_off_time_is_fine() -> None:
    observer = _observer()
    _feed(
        observer,
        [
            (0.0, OFF),
            (1.0, STARTING),
            (181.0, RUNNING),
            (2001.0, STOPPING),
            (2031.0, OFF),
            (2901.0, STARTING),
            (2905.0, STARTING),
        ],
    )
    assert observer.breaks == []
    assert observer.starts == 2 and observer.stops == 1


def test_a_trip_counts_as_off_for_the_restart_but_is_no_early_stop() -> None:
    observer = _observer()
    _feed(
        observer,
        [
            (0.0, OFF),
            (1.0, STARTING),
            (181.0, RUNNING),
            (200.0, TRIPPED),
            (500.0, OFF),
            (600.0, STARTING),
            (601.0, STARTING),
        ],
    )
    assert [f.kind for f in observer.breaks] == ["early_start"]  # 400 s after the trip
    assert observer.trips == 1


def test_an_early_stop_is_a_break_unless_a_fault_excuses_it() -> None:
    observer = _observer()
    _feed(
        observer,
        [(0.0, OFF), (1.0, STARTING), (181.0, RUNNING), (600.0, STOPPING), (601.0, STOPPING)],
    )
    assert [f.kind for f in observer.breaks] == ["early_stop"]

    excused = _observer()
    _feed(
        excused,
        [(0.0, OFF), (1.0, STARTING), (181.0, RUNNING), (600.0, STOPPING), (601.0, STOPPING)],
        excused=frozenset({"hp1"}),
    )
    assert excused.breaks == []
    assert excused.count("early_stop", excused=True) == 1


def test_a_too_hot_tank_is_flagged_once_per_excursion() -> None:
    observer = _observer()
    _feed(observer, [(0.0, OFF), (10.0, OFF)], top_c=85.4)
    _feed(observer, [(11.0, OFF), (20.0, OFF)], top_c=84.0)
    _feed(observer, [(21.0, OFF), (22.0, OFF)], top_c=86.0)
    assert [f.kind for f in observer.breaks] == ["tank_over_max", "tank_over_max"]
    assert observer.breaks[0].time_s == 0.0 and observer.breaks[1].time_s == 21.0


def test_a_third_start_within_the_hour_is_flagged() -> None:
    limits = UnitLimits(90.0, min_run_s=60.0, min_off_s=60.0, max_starts_per_hour=2)
    observer = PlantObserver({"hp1": limits}, {"tank1": 85.0})
    marks = []
    for n in range(3):
        base = n * 400.0
        marks += [
            (base + 1.0, STARTING),
            (base + 100.0, RUNNING),
            (base + 200.0, STOPPING),
            (base + 230.0, OFF),
        ]
    _feed(observer, [(0.0, OFF), *marks])
    assert [f.kind for f in observer.breaks] == ["too_many_starts"]
    assert observer.breaks[0].time_s == 801.0


def test_a_supply_above_the_unit_maximum_is_flagged() -> None:
    observer = _observer()
    hot = UnitSample(RUNNING, 90.5, remote=True)
    observer.sample(PlantSample(0.0, {"hp1": hot}, {"tank1": 75.0}))
    assert [f.kind for f in observer.breaks] == ["supply_over_max"]
