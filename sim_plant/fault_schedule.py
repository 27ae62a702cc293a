"""Fault requests and the `hpctl sim --faults FILE` schedule: what to break, when, for how long.

A schedule is TOML, one `[[faults]]` table per entry:

    [[faults]]
    at = 600                 # simulated seconds after the start, or "2026-01-15T07:00:00Z"
    kind = "sensor_stuck"    # unit_trip, comm_drop, sensor_stuck, sensor_nan, valve_stuck
    device = "tank1"
    role = "layer_temp_c"    # sensor kinds only: the point's role
    index = 8                # sensor kinds only, for indexed roles (tank layers)
    duration_s = 1800        # simulated seconds; leave out to keep the fault until cleared

A unit trip happens at once and latches in the unit until its reset (enable_cmd off for the
unit's reset time, 300 s; an unsupervised unit resets by itself), so it takes no `duration_s`
and may take an `alarm_code` (default 5).
The same `FaultSpec` is what the control endpoint accepts as JSON.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from drivers.scenario import parse_timestamp
from drivers.site import SiteError


class FaultScheduleError(SiteError):
    """A fault schedule or fault request that cannot be used; the message names the entry.

    A SiteError, so every command that refuses a bad plant file refuses a bad schedule alike.
    """


class FaultKind(StrEnum):
    UNIT_TRIP = "unit_trip"  # the unit trips now and latches until its reset
    COMM_DROP = "comm_drop"  # the device stops answering on its protocol
    SENSOR_STUCK = "sensor_stuck"  # the point freezes at the value it shows when injected
    SENSOR_NAN = "sensor_nan"  # the point reads NaN (a broken wire)
    VALVE_STUCK = "valve_stuck"  # the actuator stops moving and reports a fault


SENSOR_KINDS = frozenset({FaultKind.SENSOR_STUCK, FaultKind.SENSOR_NAN})
DEFAULT_ALARM_CODE = 5  # the point map's "internal fault"


class FaultSpec(BaseModel):
    """One fault to inject: its kind, its target and how long it lasts (simulated seconds)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: FaultKind
    device: Annotated[str, Field(min_length=1)]
    role: Annotated[str, Field(min_length=1)] | None = None
    index: Annotated[int, Field(ge=0)] | None = None
    duration_s: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    alarm_code: Annotated[int, Field(ge=1, le=65535)] | None = None

    @model_validator(mode="after")
    def _fields_fit_the_kind(self) -> Self:
        sensor = self.kind in SENSOR_KINDS
        if sensor and self.role is None:
            raise ValueError(f"role: a {self.kind} fault needs the role of the point to break")
        if not sensor and self.role is not None:
            raise ValueError(f"role: only sensor faults take a role, not {self.kind}")
        if not sensor and self.index is not None:
            raise ValueError(f"index: only sensor faults take an index, not {self.kind}")
        if self.kind is FaultKind.UNIT_TRIP and self.duration_s is not None:
            raise ValueError(
                "duration_s: a unit trip latches until the unit is reset (enable off for "
                "its reset time); it takes no duration"
            )
        if self.kind is not FaultKind.UNIT_TRIP and self.alarm_code is not None:
            raise ValueError(f"alarm_code: only unit_trip takes an alarm code, not {self.kind}")
        return self

    def describe(self) -> str:
        target = self.device
        if self.role is not None:
            target += f".{self.role}" + (f"[{self.index}]" if self.index is not None else "")
        return f"{self.kind} on {target}"


class _Entry(FaultSpec):
    at: float | datetime

    @field_validator("at", mode="before")
    @classmethod
    def _time(cls, value: Any) -> float | datetime:
        if isinstance(value, bool):
            raise ValueError("expected seconds from the start or an ISO 8601 UTC timestamp")
        if isinstance(value, int | float):
            if not 0 <= value < float("inf"):
                raise ValueError("seconds from the start must be finite and not negative")
            return float(value)
        if isinstance(value, datetime):
            if value.tzinfo is None or value.utcoffset() != timedelta(0):
                raise ValueError(f"timestamp {value} must be UTC (end it with Z)")
            return value
        if isinstance(value, str):
            return parse_timestamp(value)
        raise ValueError("expected seconds from the start or an ISO 8601 UTC timestamp")


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    faults: list[dict[str, Any]] = []


@dataclass(frozen=True)
class ScheduledFault:
    """An entry of a schedule: `spec` at `at_s` simulated seconds after the start."""

    at_s: float
    spec: FaultSpec
    entry: int  # 1-based position in the file, for messages


def _reasons(exc: ValidationError) -> list[str]:
    reasons = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        reasons.append(f"{where}: {message}" if where else message)
    return reasons


def parse_fault_spec(data: object) -> FaultSpec:
    """A fault request from JSON; a ValueError naming the field if it is not a valid one."""
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object with kind, device and optional fields")
    try:
        return FaultSpec.model_validate(data)
    except ValidationError as exc:
        raise ValueError("; ".join(_reasons(exc))) from None


def load_fault_schedule(path: Path, start_utc: datetime) -> list[ScheduledFault]:
    """Read and check a schedule; entries in time order (file order among equal times)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FaultScheduleError(f"{path}: fault schedule not found") from None
    except UnicodeDecodeError as exc:
        raise FaultScheduleError(f"{path}: not UTF-8 text ({exc.reason})") from None
    return parse_fault_schedule(text, str(path), start_utc)


def parse_fault_schedule(text: str, source: str, start_utc: datetime) -> list[ScheduledFault]:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FaultScheduleError(f"{source}: not valid TOML: {exc}") from None
    try:
        entries = _File.model_validate(raw).faults
    except ValidationError as exc:
        reasons = "; ".join(_reasons(exc))
        raise FaultScheduleError(f"{source}: {reasons} (expected only [[faults]] tables)") from None
    scheduled: list[ScheduledFault] = []
    for number, data in enumerate(entries, start=1):
        where = f"{source}: [[faults]] entry {number}"
        try:
            entry = _Entry.model_validate(data)
        except ValidationError as exc:
            raise FaultScheduleError(f"{where}: " + "; ".join(_reasons(exc))) from None
        if isinstance(entry.at, datetime):
            at_s = (entry.at - start_utc).total_seconds()
            if at_s < 0:
                raise FaultScheduleError(
                    f"{where}: at: {entry.at.isoformat()} is before the simulation starts "
                    f"({start_utc.isoformat()})"
                )
        else:
            at_s = entry.at
        spec = FaultSpec.model_validate(entry.model_dump(exclude={"at"}))
        scheduled.append(ScheduledFault(at_s, spec, number))
    return sorted(scheduled, key=lambda item: (item.at_s, item.entry))
