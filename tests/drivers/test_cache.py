"""Point cache and Snapshot: quality by age, NaN and failures are BAD, lookups by role."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime
from pathlib import Path

import pytest

from drivers.cache import PointCache
from drivers.pointmap import PointMap, load_point_map
from drivers.reading import Quality

POINTMAPS = Path(__file__).resolve().parents[2] / "deploy" / "pointmaps"
NOW = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
def maps() -> dict[str, PointMap]:
    return {
        "hp1": load_point_map(POINTMAPS / "generic_large_heat_pump.toml"),
        "tank1": load_point_map(POINTMAPS / "generic_tank_8_layers.toml"),
    }


def test_never_read_and_unknown_points_are_bad(maps: dict[str, PointMap]) -> None:
    snapshot = PointCache(maps).snapshot(NOW, 0.0)
    assert snapshot.get("hp1", "heat_kw").quality is Quality.BAD
    assert snapshot.get("nope", "heat_kw").quality is Quality.BAD
    assert snapshot.by_role("hp1", "no_such_role").quality is Quality.BAD
    assert snapshot.value("hp1", "heat_kw", default=-1.0) == -1.0


def test_value_older_than_max_age_is_stale(maps: dict[str, PointMap]) -> None:
    cache = PointCache(maps)
    cache.update("hp1", "heat_kw", 5000.0, read_at_s=100.0)  # max_age_s = 10
    cache.update("hp1", "run_hours_h", 1234.0, read_at_s=100.0)  # max_age_s = 60
    fresh = cache.snapshot(NOW, 110.0)
    old = cache.snapshot(NOW, 110.5)
    assert fresh.get("hp1", "heat_kw").quality is Quality.GOOD
    assert fresh.value("hp1", "heat_kw") == 5000.0
    assert old.get("hp1", "heat_kw").quality is Quality.STALE
    assert old.get("hp1", "heat_kw").value == 5000.0  # kept for diagnosis, not for decisions
    assert old.value("hp1", "heat_kw") is None
    assert old.get("hp1", "run_hours_h").quality is Quality.GOOD


@pytest.mark.parametrize("value", [math.nan, math.inf, None])
def test_nan_and_missing_values_are_bad(maps: dict[str, PointMap], value: float | None) -> None:
    cache = PointCache(maps)
    cache.update("hp1", "heat_kw", value, read_at_s=0.0)
    reading = cache.snapshot(NOW, 0.0).get("hp1", "heat_kw")
    assert reading.quality is Quality.BAD
    assert reading.value is None


def test_mark_bad_drops_the_last_value(maps: dict[str, PointMap]) -> None:
    cache = PointCache(maps)
    cache.update("hp1", "heat_kw", 5000.0, 0.0)
    cache.update("hp1", "power_kw", 1500.0, 0.0)
    cache.mark_bad("hp1", ["heat_kw"])
    snapshot = cache.snapshot(NOW, 0.0)
    assert snapshot.get("hp1", "heat_kw").quality is Quality.BAD
    assert snapshot.get("hp1", "heat_kw").value is None
    assert snapshot.value("hp1", "power_kw") == 1500.0
    cache.mark_bad("hp1")
    assert cache.snapshot(NOW, 0.0).value("hp1", "power_kw") is None


def test_snapshot_is_frozen_against_later_updates(maps: dict[str, PointMap]) -> None:
    cache = PointCache(maps)
    cache.update("hp1", "heat_kw", 1.0, 0.0)
    snapshot = cache.snapshot(NOW, 0.0)
    cache.update("hp1", "heat_kw", 2.0, 0.0)
    cache.update("hp1", "power_kw", 3.0, 0.0)
    assert snapshot.value("hp1", "heat_kw") == 1.0
    assert snapshot.get("hp1", "power_kw").quality is Quality.BAD  # read after the snapshot
    assert snapshot.taken_at_s == 0.0
    assert snapshot.now_utc == NOW
    with pytest.raises(dataclasses.FrozenInstanceError):
        snapshot.taken_at_s = 1.0  # type: ignore[misc]


def test_roles_with_index_and_order(maps: dict[str, PointMap]) -> None:
    cache = PointCache(maps)
    for layer in (1, 2, 4):
        cache.update("tank1", f"layer_{layer}_temp_c", 40.0 + layer, 0.0)
    snapshot = cache.snapshot(NOW, 0.0)
    assert snapshot.value("tank1", "layer_temp_c", index=4) == 44.0
    assert snapshot.value("tank1", "layer_temp_c", index=3) is None
    layers = snapshot.all_by_role("tank1", "layer_temp_c")
    assert [r.value for r in layers] == [41.0, 42.0, None, 44.0, None, None, None, None]


def test_confirm_refreshes_only_good_values(maps: dict[str, PointMap]) -> None:
    cache = PointCache(maps)
    cache.update("hp1", "heat_kw", 5000.0, 0.0)
    cache.update("hp1", "power_kw", math.nan, 0.0)
    cache.confirm("hp1", 50.0)
    snapshot = cache.snapshot(NOW, 55.0)
    assert snapshot.get("hp1", "heat_kw").quality is Quality.GOOD
    assert snapshot.get("hp1", "power_kw").quality is Quality.BAD


def test_a_snapshot_keeps_its_ages_when_values_are_confirmed_later(
    maps: dict[str, PointMap],
) -> None:
    cache = PointCache(maps)
    cache.update("hp1", "heat_kw", 5000.0, 0.0)  # max_age_s = 10
    before = cache.snapshot(NOW, 15.0)
    cache.confirm("hp1", 14.0)
    cache.mark_bad("hp1", ["run_hours_h"])
    assert before.get("hp1", "heat_kw").quality is Quality.STALE
    assert before.get("hp1", "heat_kw").read_at_s == 0.0
    assert cache.snapshot(NOW, 15.0).get("hp1", "heat_kw").quality is Quality.GOOD


def test_unknown_device_is_a_programming_error(maps: dict[str, PointMap]) -> None:
    with pytest.raises(KeyError, match="unknown device 'hp9'"):
        PointCache(maps).update("hp9", "heat_kw", 1.0, 0.0)


def test_value_is_the_good_reading_of_the_role(maps: dict[str, PointMap]) -> None:
    """`value` answers without building a Reading: the same as `by_role(...).value` when
    good, the default otherwise, for good, stale, bad, never-read and undeclared points."""
    cache = PointCache(maps)
    cache.update("hp1", "heat_kw", 5000.0, 0.0)  # stale at 20 s (max age 10 s)
    cache.update("hp1", "run_hours_h", 12.0, 0.0)  # good at 20 s (max age 60 s)
    cache.update("hp1", "power_kw", math.nan, 20.0)  # bad
    for layer in (1, 3):
        cache.update("tank1", f"layer_{layer}_temp_c", 60.0 + layer, 20.0)
    snapshot = cache.snapshot(NOW, 20.0)
    asked = [("hp1", p.role, None) for p in maps["hp1"].points]
    asked += [("tank1", "layer_temp_c", index) for index in (None, 1, 2, 3, 9)]
    asked += [("hp1", "no_such_role", None), ("nope", "heat_kw", None)]
    for device, role, index in asked:
        reading = snapshot.by_role(device, role, index)
        expected = reading.value if reading.good else -1.0
        assert snapshot.value(device, role, index, default=-1.0) == expected, (role, index)
    assert snapshot.value("hp1", "run_hours_h") == 12.0
    assert snapshot.value("tank1", "layer_temp_c", 3) == 63.0
