"""Operator requests, whatever carries them (MQTT today): manual, auto, setpoint, curtail, boost,
cancel. Validated with pydantic; the operator desk decides whether and how they are honoured."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
)

RequestId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
# strict: "priority": true is not 1, "on": "yes" is not true, "heat_kw": "500" is not a number
Priority = Annotated[int, Field(ge=0, le=100, strict=True)]
Kw = Annotated[float, Field(ge=0, le=1_000_000, allow_inf_nan=False, strict=True)]
Operator = Annotated[str, Field(max_length=64)]
UnitName = Annotated[str, Field(min_length=1, max_length=64)]
_ISO_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _iso_text(value: object) -> object:
    # pydantic reads a number, or a text of digits, as seconds since 1970: a time must be
    # written out, so that a number sent in the wrong field is refused rather than taken as 1970
    if isinstance(value, datetime) or (isinstance(value, str) and _ISO_DATE_TIME.match(value)):
        return value
    raise ValueError("must be an ISO 8601 date and time with its offset, e.g. 2024-01-08T12:00Z")


def _in_utc(value: datetime) -> datetime:
    # a time near the calendar's ends (0001-01-01+14:00, 9999-12-31-14:00) cannot be put in UTC
    # and would overflow later in the desk or the market: only this century's times are usable
    if not 1900 <= value.year <= 2099:
        raise ValueError("must lie in the years 1900..2099")
    try:
        in_utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("cannot be expressed in UTC") from None
    if not 1900 <= in_utc.year <= 2099:
        raise ValueError("must lie in the years 1900..2099")
    return in_utc


UtcTime = Annotated[AwareDatetime, BeforeValidator(_iso_text), AfterValidator(_in_utc)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: RequestId
    priority: Priority
    operator: Operator = ""


class ManualRequest(_Request):
    """Take a unit out of the controller's hands: on at `heat_kw`, or off, until expiry."""

    kind: Literal["manual"]
    unit: UnitName
    on: Annotated[bool, Field(strict=True)]
    heat_kw: Kw | None = None
    expires_utc: UtcTime


class AutoRequest(_Request):
    """Give a unit back to the controller: releases its requests up to this priority."""

    kind: Literal["auto"]
    unit: UnitName


class SetpointRequest(_Request):
    """Run a unit at `heat_kw` whenever the controller runs it, until expiry."""

    kind: Literal["setpoint"]
    unit: UnitName
    heat_kw: Kw
    expires_utc: UtcTime


class CurtailRequest(_Request):
    """Cap all heat pumps' electric power together (grid services), until expiry."""

    kind: Literal["curtail"]
    max_power_kw: Kw
    expires_utc: UtcTime


class BoostRequest(_Request):
    """Produce at least `min_heat_kw` with the heat pumps together, until expiry."""

    kind: Literal["boost"]
    min_heat_kw: Kw
    expires_utc: UtcTime


class CancelRequest(_Request):
    """Withdraw an active request early (needs at least its priority)."""

    kind: Literal["cancel"]
    target_id: RequestId


OperatorRequest = Annotated[
    ManualRequest | AutoRequest | SetpointRequest | CurtailRequest | BoostRequest | CancelRequest,
    Field(discriminator="kind"),
]
REQUEST_ADAPTER = TypeAdapter[
    ManualRequest | AutoRequest | SetpointRequest | CurtailRequest | BoostRequest | CancelRequest
](OperatorRequest)
