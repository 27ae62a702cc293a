"""Fault schedules (`hpctl sim --faults FILE`) and the fault book both they and the API use."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import pytest

from drivers.kinds import StateCode
from drivers.site import SiteConfig, SiteError, load_site
from sim_plant.fault_book import FaultBook, FaultRequestError
from sim_plant.fault_schedule import (
    FaultKind,
    FaultScheduleError,
    FaultSpec,
    load_fault_schedule,
    parse_fault_schedule,
    parse_fault_spec,
)
from sim_plant.physics import Boundary, PlantModel
from tests.sim_plant.servers_support import RIVER_PLANT

START = datetime(2026, 1, 15, 6, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def river() -> SiteConfig:
    return load_site(RIVER_PLANT)


@pytest.fixture
def book(river: SiteConfig) -> FaultBook:
    return FaultBook(PlantModel(river, START, initial_soc=0.5))


def step(book: FaultBook, seconds: float, step_s: float = 10.0) -> None:
    """Advance the plant as the runner does: step, then let the book act at the boundary."""
    for _ in range(round(seconds / step_s)):
        book.model.step(step_s, Boundary(now_utc=book.model.now_utc, outdoor_temp_c=-5.0))
        book.advance()


def parse(text: str) -> list[tuple[float, FaultSpec]]:
    return [(entry.at_s, entry.spec) for entry in parse_fault_schedule(text, "f.toml", START)]


def test_a_schedule_reads_seconds_and_utc_timestamps_in_time_order() -> None:
    entries = parse(
        """
        [[faults]]
        at = "2026-01-15T07:00:00Z"
        kind = "sensor_stuck"
        device = "tank1"
        role = "layer_temp_c"
        index = 8
        duration_s = 1800

        [[faults]]
        at = 2026-01-15T06:30:00Z  # a TOML datetime works as well as a string
        kind = "comm_drop"
        device = "hp2"

        [[faults]]
        at = 600
        kind = "unit_trip"
        device = "hp1"
        alarm_code = 2

        [[faults]]
        at = 600.0
        kind = "valve_stuck"
        device = "v_hp1"
        duration_s = 60
        """
    )
    assert [(at_s, spec.kind, spec.device) for at_s, spec in entries] == [
        (600.0, FaultKind.UNIT_TRIP, "hp1"),  # equal times keep the file's order
        (600.0, FaultKind.VALVE_STUCK, "v_hp1"),
        (1800.0, FaultKind.COMM_DROP, "hp2"),
        (3600.0, FaultKind.SENSOR_STUCK, "tank1"),
    ]
    assert entries[0][1].alarm_code == 2
    assert entries[1][1].duration_s == 60.0
    assert entries[2][1].duration_s is None  # until cleared
    assert (entries[3][1].role, entries[3][1].index) == ("layer_temp_c", 8)
    assert parse("") == []


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            'at = 5\nkind = "meltdown"\ndevice = "hp1"',
            r"entry 2: kind: Input should be 'unit_trip'",
        ),
        ('kind = "comm_drop"\ndevice = "hp1"', r"entry 2: at: Field required"),
        ('at = -5\nkind = "comm_drop"\ndevice = "hp1"', r"entry 2: at: .*and not negative"),
        ('at = "soon"\nkind = "comm_drop"\ndevice = "hp1"', r"entry 2: at: .*not ISO 8601"),
        ('at = 2026-01-15T07:00:00\nkind = "comm_drop"\ndevice = "hp1"', r"entry 2: at: .*UTC"),
        (
            'at = "2026-01-15T07:00:00+01:00"\nkind = "comm_drop"\ndevice = "hp1"',
            r"entry 2: at: .*is not UTC",
        ),
        (
            'at = "2026-01-15T05:00:00Z"\nkind = "comm_drop"\ndevice = "hp1"',
            r"entry 2: at: 2026-01-15T05:00:00\+00:00 is before the simulation starts",
        ),
        ('at = 5\nkind = "sensor_nan"\ndevice = "hp1"', r"entry 2: role: a sensor_nan fault needs"),
        ('at = 5\nkind = "comm_drop"\ndevice = "hp1"\nrole = "heat_kw"', "entry 2: role: only"),
        (
            'at = 5\nkind = "unit_trip"\ndevice = "hp1"\nduration_s = 60',
            "entry 2: duration_s: a unit trip latches",
        ),
        ('at = 5\nkind = "comm_drop"\ndevice = "hp1"\nduration_s = 0', "entry 2: duration_s: .*0"),
        ('at = 5\nkind = "comm_drop"\ndevice = "hp1"\nduraton_s = 60', "entry 2: duraton_s: Extra"),
        ('at = 5\nkind = "valve_stuck"\ndevice = "v_hp1"\nalarm_code = 3', "entry 2: alarm_code"),
    ],
)
def test_a_bad_entry_is_refused_naming_the_file_the_entry_and_the_field(
    entry: str, message: str
) -> None:
    good = '[[faults]]\nat = 1\nkind = "comm_drop"\ndevice = "hp2"\n'
    with pytest.raises(FaultScheduleError, match=r"^f\.toml: \[\[faults\]\] " + message):
        parse(f"{good}\n[[faults]]\n{entry}\n")


def test_a_file_that_is_not_a_schedule_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FaultScheduleError, match=r"f\.toml: not valid TOML"):
        parse("[[faults]\n")
    with pytest.raises(FaultScheduleError, match=r"f\.toml: fault: Extra inputs.*\[\[faults\]\]"):
        parse('[[fault]]\nat = 1\nkind = "comm_drop"\ndevice = "hp2"\n')
    missing = tmp_path / "missing.toml"
    with pytest.raises(FaultScheduleError, match=r"missing\.toml: fault schedule not found"):
        load_fault_schedule(missing, START)
    assert issubclass(FaultScheduleError, SiteError)  # the CLI's bad-input path reports it


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('kind = "comm_drop"\ndevice = "hp9"', r"device: no device named 'hp9'.*hp1, hp2"),
        ('kind = "unit_trip"\ndevice = "v_hp1"', r"device: no heat-pump unit named 'v_hp1'"),
        ('kind = "valve_stuck"\ndevice = "hp1"', r"device: no valve named 'hp1'"),
        ('kind = "sensor_nan"\ndevice = "hp1"\nrole = "warp_kw"', r"role: .*'hp1'.*'warp_kw'"),
        (
            'kind = "sensor_stuck"\ndevice = "tank1"\nrole = "layer_temp_c"\nindex = 99',
            r"role: .*tank1",
        ),
    ],
)
def test_entries_that_do_not_fit_the_plant_are_refused_before_anything_runs(
    book: FaultBook, entry: str, message: str
) -> None:
    entries = parse_fault_schedule(f"[[faults]]\nat = 30\n{entry}\n", "f.toml", START)
    with pytest.raises(FaultScheduleError, match=r"^f\.toml: \[\[faults\]\] entry 1: " + message):
        book.schedule(entries, "f.toml")
    assert book.pending() == []


def test_scheduled_faults_start_at_their_step_and_end_after_their_duration(
    book: FaultBook,
) -> None:
    text = """
    [[faults]]
    at = 25
    kind = "comm_drop"
    device = "hp2"
    duration_s = 30

    [[faults]]
    at = 40
    kind = "unit_trip"
    device = "hp1"
    """
    book.schedule(parse_fault_schedule(text, "f.toml", START), "f.toml")
    faults = book.model.faults
    step(book, 20)
    assert not faults.is_comm_dropped("hp2")
    step(book, 10)  # the first step boundary at or after 25 s
    assert faults.is_comm_dropped("hp2")
    (drop,) = book.active()
    assert drop.started_utc == datetime(2026, 1, 15, 6, 0, 30, tzinfo=UTC)
    step(book, 10)
    assert book.model.value("hp1", "state_code") == StateCode.TRIPPED
    assert book.model.value("hp1", "alarm_code") == 5
    step(book, 10)
    assert faults.is_comm_dropped("hp2")  # 30 s from its start at 30 s: until 60 s
    step(book, 10)
    assert not faults.is_comm_dropped("hp2")
    assert book.active() == []
    assert [(r.id, r.spec.kind, r.end_reason) for r in book.history()] == [
        (2, FaultKind.UNIT_TRIP, "instant"),
        (1, FaultKind.COMM_DROP, "expired"),
    ]
    assert book.pending() == []


def test_a_new_fault_on_the_same_point_replaces_the_old_and_clearing_restores_the_truth(
    book: FaultBook,
) -> None:
    stuck = book.inject(
        parse_fault_spec({"kind": "sensor_stuck", "device": "plant", "role": "outdoor_temp_c"})
    )
    nan = book.inject(
        parse_fault_spec({"kind": "sensor_nan", "device": "plant", "role": "outdoor_temp_c"})
    )
    other = book.inject(
        parse_fault_spec(
            {"kind": "sensor_nan", "device": "tank1", "role": "layer_temp_c", "index": 8}
        )
    )
    step(book, 10)
    assert math.isnan(book.model.value("plant", "outdoor_temp_c"))
    assert stuck.end_reason == "replaced"
    assert [record.id for record in book.active()] == [nan.id, other.id]
    book.clear(nan.id)
    assert book.model.value("plant", "outdoor_temp_c") == -5.0
    assert math.isnan(book.model.value("tank1", "layer_temp_c", 8))
    with pytest.raises(KeyError, match=f"no active fault with id {nan.id}"):
        book.clear(nan.id)
    assert [record.id for record in book.clear_all()] == [other.id]
    assert not math.isnan(book.model.value("tank1", "layer_temp_c", 8))


def test_a_stuck_valve_is_freed_when_its_fault_is_cleared(book: FaultBook) -> None:
    record = book.inject(parse_fault_spec({"kind": "valve_stuck", "device": "v_hp1"}))
    book.model.command("v_hp1", "position_cmd_pct", 0.0)
    step(book, 60)
    assert book.model.value("v_hp1", "position_pct") == 100.0
    assert book.model.value("v_hp1", "fault") == 1.0
    book.clear(record.id)
    step(book, 120)
    assert book.model.value("v_hp1", "position_pct") == 0.0
    assert book.model.value("v_hp1", "fault") == 0.0


def test_requests_are_checked_like_schedule_entries(book: FaultBook) -> None:
    with pytest.raises(ValueError, match=r"^kind: Field required; device: Field required$"):
        parse_fault_spec({})
    with pytest.raises(ValueError, match="expected a JSON object"):
        parse_fault_spec(["comm_drop", "hp1"])
    with pytest.raises(ValueError, match=r"^at: Extra inputs are not permitted$"):
        parse_fault_spec({"kind": "comm_drop", "device": "hp1", "at": 5})
    with pytest.raises(FaultRequestError, match="device: no device named 'hp9'"):
        book.inject(parse_fault_spec({"kind": "comm_drop", "device": "hp9"}))
    assert book.active() == [] and book.history() == []


def test_the_example_rehearsal_fits_the_river_plant(book: FaultBook) -> None:
    path = RIVER_PLANT.parents[1] / "faults" / "river_rehearsal.toml"
    entries = load_fault_schedule(path, START)
    book.schedule(entries, str(path))
    assert {entry.spec.kind for entry in entries} == set(FaultKind)
