"""The bridge's JSON messages: what comes in (validated with pydantic) and what goes out.

Incoming: operator requests on `<prefix>/request`, hourly prices on `<prefix>/market/prices`,
hourly carbon intensity on `<prefix>/market/carbon`, the boiler's fuel price on
`<prefix>/market/fuel`. A message that is not JSON, does not match
its schema or is out of range raises `MessageError` with the reason, which the bridge counts,
drops and (for requests) answers on `<prefix>/reply`.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Annotated, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from controller.runtime.requests import (
    REQUEST_ADAPTER,
    AutoRequest,
    BoostRequest,
    CancelRequest,
    CurtailRequest,
    ManualRequest,
    SetpointRequest,
    UtcTime,
)
from drivers.csv_input import ValueRange
from drivers.scenario import COLUMN_RANGES

MAX_PAYLOAD_BYTES = 256 * 1024
REASON_MAX_CHARS = 300  # a reason quotes the sender's keys and tags: bounded, whatever was sent
_M = TypeVar("_M", bound=BaseModel)


class MessageError(ValueError):
    """A message the bridge drops; the text says why (and goes back to the sender)."""


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _on_the_hour(value: datetime) -> datetime:
    if (value.minute, value.second, value.microsecond) != (0, 0, 0):
        raise ValueError(f"{value.isoformat()} is not the start of an hour")
    if value.utcoffset() != timedelta(0):
        raise ValueError(f"{value.isoformat()} is not UTC")
    return value


def _on_a_quarter_hour(value: datetime) -> datetime:
    if value.minute % 15 or (value.second, value.microsecond) != (0, 0):
        raise ValueError(f"{value.isoformat()} is not the start of a quarter-hour")
    if value.utcoffset() != timedelta(0):
        raise ValueError(f"{value.isoformat()} is not UTC")
    return value


def _in_range(column: str) -> object:
    """The scenario files' range for this quantity (drivers/scenario.py COLUMN_RANGES): one
    statement of what a price, a carbon intensity or a fuel price may be, whatever carries it."""
    value_range: ValueRange = COLUMN_RANGES[column]
    return Field(ge=value_range.low, le=value_range.high, allow_inf_nan=False, strict=True)


class PricePoint(_Message):
    """One market period's price: an hour, or a quarter-hour (the day-ahead auction clears in
    15-minute periods since delivery day 1 October 2025)."""

    start_utc: UtcTime
    price_eur_per_mwh: Annotated[float, _in_range("price_eur_per_mwh")]

    @field_validator("start_utc")
    @classmethod
    def check_period(cls, value: datetime) -> datetime:
        return _on_a_quarter_hour(value)


class PriceUpdate(_Message):
    """Hourly prices; usable from `published_utc` (default: when received)."""

    published_utc: UtcTime | None = None
    prices: Annotated[list[PricePoint], Field(min_length=1, max_length=96 * 10)]


class CarbonPoint(_Message):
    start_utc: UtcTime
    carbon_g_per_kwh: Annotated[float, _in_range("carbon_g_per_kwh")]

    @field_validator("start_utc")
    @classmethod
    def check_hour(cls, value: datetime) -> datetime:
        return _on_the_hour(value)


class CarbonUpdate(_Message):
    """Hourly grid carbon intensity as observed (or forecast: the market keeps only the past)."""

    values: Annotated[list[CarbonPoint], Field(min_length=1, max_length=24 * 10)]


class FuelUpdate(_Message):
    """The boiler fuel price (EUR per MWh of fuel) from `valid_from_utc` (default: when
    received) until the next update; it replaces the plant file's constant."""

    valid_from_utc: UtcTime | None = None
    fuel_price_eur_per_mwh: Annotated[float, _in_range("fuel_price_eur_per_mwh")]


def _no_constant(name: str) -> object:
    # Python's json reads NaN, Infinity and -Infinity, which JSON does not have
    raise ValueError(f"{name} is not a JSON number")


def _load_json(payload: bytes) -> object:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise MessageError(f"payload of {len(payload)} bytes is over {MAX_PAYLOAD_BYTES}")
    try:
        return json.loads(payload.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MessageError(f"not JSON: {exc}") from None
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise MessageError(f"not usable JSON: {exc}") from None
    except RecursionError:
        raise MessageError("not usable JSON: nested too deeply") from None


def _clip(text: str, max_chars: int) -> str:
    return text if len(text) <= max_chars else text[: max_chars - 3] + "..."


def _reasons(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False)[:5]:
        where = ".".join(_clip(str(part), 40) for part in error["loc"]) or "message"
        parts.append(f"{where}: {_clip(str(error['msg']).removeprefix('Value error, '), 120)}")
    return _clip("; ".join(parts), REASON_MAX_CHARS)


def parse_request(
    payload: bytes,
) -> ManualRequest | AutoRequest | SetpointRequest | CurtailRequest | BoostRequest | CancelRequest:
    data = _load_json(payload)
    try:
        return REQUEST_ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise MessageError(_reasons(exc)) from None


def request_id_of(payload: bytes) -> str | None:
    """The id of a request that failed validation, if it has a usable one (for the answer)."""
    try:
        data = _load_json(payload)
    except MessageError:
        return None
    value = data.get("id") if isinstance(data, dict) else None
    return value if isinstance(value, str) and 0 < len(value) <= 64 else None


def _parse(model: type[_M], payload: bytes) -> _M:
    data = _load_json(payload)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise MessageError(_reasons(exc)) from None


def parse_prices(payload: bytes) -> PriceUpdate:
    return _parse(PriceUpdate, payload)


def parse_carbon(payload: bytes) -> CarbonUpdate:
    return _parse(CarbonUpdate, payload)


def parse_fuel(payload: bytes) -> FuelUpdate:
    return _parse(FuelUpdate, payload)
