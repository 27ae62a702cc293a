"""Write on change: a changed value goes out at once, an unchanged one after the refresh
period, a device that failed is written whole again, and the heartbeat is never skipped."""

from __future__ import annotations

from controller.runtime.outputs import REFRESH_S, WriteDiff

HP = {"heartbeat": 1.0, "remote_request": 1.0, "enable_cmd": 1.0, "heat_setpoint_kw": 5000.0}
VALVE = {"position_cmd_pct": 100.0}


def _cycle(
    diff: WriteDiff, wanted: dict[str, dict[str, float]], now_s: float
) -> dict[str, dict[str, float]]:
    """One cycle's writes, every device accepting them."""
    writes = diff.changes(wanted, now_s)
    for device, values in writes.items():
        diff.accepted(device, values)
    return writes


def test_the_first_cycle_writes_every_point() -> None:
    diff = WriteDiff()
    assert _cycle(diff, {"hp1": HP, "v1": VALVE}, 0.0) == {"hp1": HP, "v1": VALVE}


def test_a_changed_value_is_written_at_once_and_alone() -> None:
    diff = WriteDiff()
    _cycle(diff, {"hp1": HP}, 0.0)
    changed = {**HP, "heartbeat": 2.0, "heat_setpoint_kw": 5100.0}
    assert _cycle(diff, {"hp1": changed}, 5.0) == {
        "hp1": {"heartbeat": 2.0, "heat_setpoint_kw": 5100.0}
    }


def test_unchanged_values_are_written_again_once_the_refresh_period_is_over() -> None:
    diff = WriteDiff()
    _cycle(diff, {"v1": VALVE}, 0.0)
    quiet = [now for now in range(5, int(REFRESH_S), 5) if _cycle(diff, {"v1": VALVE}, now)]
    assert quiet == []  # nothing in between
    assert _cycle(diff, {"v1": VALVE}, REFRESH_S) == {"v1": VALVE}
    assert _cycle(diff, {"v1": VALVE}, REFRESH_S + 5.0) == {}
    assert _cycle(diff, {"v1": VALVE}, 2 * REFRESH_S) == {"v1": VALVE}


def test_the_heartbeat_goes_out_every_cycle_and_a_refresh_carries_the_rest() -> None:
    diff = WriteDiff()
    for cycle in range(int(3 * REFRESH_S / 5) + 1):
        now_s = 5.0 * cycle
        writes = _cycle(diff, {"hp1": {**HP, "heartbeat": float(cycle % 65536)}}, now_s)
        assert writes["hp1"]["heartbeat"] == float(cycle % 65536)
        refresh = now_s % REFRESH_S == 0.0
        assert set(writes["hp1"]) == (set(HP) if refresh else {"heartbeat"}), now_s


def test_a_device_whose_write_failed_is_written_whole_next_time() -> None:
    diff = WriteDiff()
    _cycle(diff, {"hp1": HP}, 0.0)
    writes = diff.changes({"hp1": {**HP, "heartbeat": 2.0}}, 5.0)
    assert writes == {"hp1": {"heartbeat": 2.0}}
    diff.forget("hp1")  # the device refused or did not answer
    assert _cycle(diff, {"hp1": {**HP, "heartbeat": 3.0}}, 10.0) == {
        "hp1": {**HP, "heartbeat": 3.0}
    }


def test_a_refresh_that_failed_is_tried_again_the_next_cycle() -> None:
    diff = WriteDiff()
    _cycle(diff, {"v1": VALVE}, 0.0)
    assert diff.changes({"v1": VALVE}, REFRESH_S) == {"v1": VALVE}  # not accepted
    assert _cycle(diff, {"v1": VALVE}, REFRESH_S + 5.0) == {"v1": VALVE}
    assert _cycle(diff, {"v1": VALVE}, REFRESH_S + 10.0) == {}
