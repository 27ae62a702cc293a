"""Operator requests, whatever carries them (MQTT today): manual, auto, setpoint, curtail, boost,
cancel. Validated with pydantic; the operator desk decides whether and how they are honoured."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

RequestId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
# strict: "priority": true is not 1, "on": "yes" is not true, "heat_kw": "500" is not a number
Priority = Annotated[int, Field(ge=0, le=100, strict=True)]
Kw = Annotated[float, Field(ge=0, le=1_000_000, allow_inf_nan=False, strict=True)]
Operator = Annotated[str, Field(max_length=64)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: RequestId
    priority: Priority
    operator: Operator = ""


class ManualRequest(_Request):
    """Take a unit out of the controller's hands: on at `heat_kw`, or off, until expiry."""

    kind: Literal["manual"]
    unit: str
    on: Annotated[bool, Field(strict=True)]
    heat_kw: Kw | None = None
    expires_utc: AwareDatetime


class AutoRequest(_Request):
    """Give a unit back to the controller: releases its requests up to this priority."""

    kind: Literal["auto"]
    unit: str


class SetpointRequest(_Request):
    """Run a unit at `heat_kw` whenever the controller runs it, until expiry."""

    kind: Literal["setpoint"]
    unit: str
    heat_kw: Kw
    expires_utc: AwareDatetime


class CurtailRequest(_Request):
    """Cap all heat pumps' electric power together (grid services), until expiry."""

    kind: Literal["curtail"]
    max_power_kw: Kw
    expires_utc: AwareDatetime


class BoostRequest(_Request):
    """Produce at least `min_heat_kw` with the heat pumps together, until expiry."""

    kind: Literal["boost"]
    min_heat_kw: Kw
    expires_utc: AwareDatetime


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
