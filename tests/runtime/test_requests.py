"""Operator requests are read strictly: a field of the wrong type is refused, not coerced."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from controller.runtime.requests import REQUEST_ADAPTER

EXPIRES = "2030-01-01T00:00:00Z"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": "manual", "unit": "hp1", "on": "yes"}, "manual.on"),
        ({"kind": "manual", "unit": "hp1", "on": 1}, "manual.on"),
        ({"kind": "manual", "unit": "hp1", "on": True, "priority": True}, "manual.priority"),
        ({"kind": "setpoint", "unit": "hp1", "heat_kw": "500"}, "setpoint.heat_kw"),
        ({"kind": "curtail", "max_power_kw": True}, "curtail.max_power_kw"),
        ({"kind": "curtail", "max_power_kw": 500, "expires_utc": 1893456000}, "expires_utc"),
        ({"kind": "curtail", "max_power_kw": 500, "expires_utc": "1893456000"}, "expires_utc"),
        ({"kind": "auto", "unit": "u" * 65}, "auto.unit"),
    ],
)
def test_a_field_of_the_wrong_type_is_refused_not_coerced(
    changes: dict[str, object], field: str
) -> None:
    request = {"id": "r1", "priority": 50, "expires_utc": EXPIRES, **changes}
    with pytest.raises(ValidationError) as caught:
        REQUEST_ADAPTER.validate_python(request)
    assert field in str(caught.value)


def test_a_well_typed_request_is_read() -> None:
    request = REQUEST_ADAPTER.validate_python(
        {"id": "r1", "kind": "setpoint", "unit": "hp1", "heat_kw": 500, "priority": 5,
         "expires_utc": EXPIRES}
    )  # fmt: skip
    assert request.kind == "setpoint" and request.heat_kw == 500.0


@pytest.mark.parametrize(
    "expires",
    [
        "9999-12-31T23:59:59-14:00",
        "0001-01-01T00:00:00+14:00",
        "2999-01-01T00:00Z",
        "1800-01-01T00:00Z",
    ],
)
def test_a_time_near_the_calendars_ends_is_refused(expires: str) -> None:
    """Found by the fuzzer: such a time passed and then overflowed in the desk's UTC conversion."""
    payload = {
        "id": "c1",
        "kind": "curtail",
        "priority": 50,
        "max_power_kw": 1000.0,
        "expires_utc": expires,
    }
    with pytest.raises(ValidationError, match=r"1900\.\.2099|UTC"):
        REQUEST_ADAPTER.validate_python(payload)


def test_a_time_with_an_offset_is_taken_in_utc() -> None:
    payload = {
        "id": "c1",
        "kind": "curtail",
        "priority": 50,
        "max_power_kw": 1000.0,
        "expires_utc": "2024-01-08T13:00+01:00",
    }
    request = REQUEST_ADAPTER.validate_python(payload)
    assert request.expires_utc == datetime(2024, 1, 8, 12, 0, tzinfo=UTC)
    assert request.expires_utc.utcoffset() == timedelta(0)
