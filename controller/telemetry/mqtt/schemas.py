"""The bridge's published payloads as pydantic models: the JSON schemas in docs/mqtt-schemas/
are generated from them (`python -m controller.telemetry.mqtt.schemas docs/mqtt-schemas`), and
the tests validate real published messages against them.

The payloads themselves are built as plain dicts in `payloads.py` (the cycle does not pay for a
model per message); these models are the contract those dicts are checked against. They forbid
unknown fields, so a field added to a payload without its schema fails the tests.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from controller.telemetry.mqtt.payloads import TIME_FORMAT

UTC_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"
UtcText = Annotated[
    str,
    Field(
        pattern=UTC_PATTERN,
        description=f"RFC 3339, UTC, whole seconds, `Z` ({TIME_FORMAT})",
        examples=["2024-01-08T14:00:00Z"],
    ),
]
StateName = Literal["off", "starting", "running", "stopping", "tripped", "unknown"]
Source = Annotated[
    str,
    Field(description="dispatch rung or policy: plan, last_plan, rules, merit"),
]


# the audit event kinds the bridge publishes on the events topic (the rest stay in the audit)
PublishedEventKind = Literal[
    "interlock",
    "fallback",
    "recovery",
    "handback",
    "override_expired",
    "override_released",
    "plan",
    "unit_trip",
    "unit_trip_reset",
    "policy_error",
    "policy_recovered",
]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UnitView(_Payload):
    state_code: int | None = Field(
        description="0 off, 1 starting, 2 running, 3 stopping, 4 tripped"
    )
    state: StateName | None = Field(description="the name of `state_code`")
    data_good: bool
    heat_kw: float | None
    power_kw: float | None
    cop: float | None
    supply_temp_c: float | None
    target_on: bool
    target_heat_kw: float | None
    enable: bool | None
    heat_setpoint_kw: float | None
    remote: bool | None
    reason: str = Field(description="why the unit is commanded so, e.g. an override overruled by …")


class BoilerView(_Payload):
    state_code: int | None
    state: StateName | None
    heat_kw: float | None
    enable: bool | None
    heat_setpoint_kw: float | None


class InterlockView(_Payload):
    equipment: str
    reason: str
    detail: str


class OverrideView(_Payload):
    id: str
    kind: Literal["manual", "setpoint", "curtail", "boost"]
    priority: int
    expires_utc: UtcText
    received_utc: UtcText
    operator: str | None
    unit: str | None = None
    on: bool | None = None
    heat_kw: float | None = None
    max_power_kw: float | None = None
    min_heat_kw: float | None = None


class StatePayload(_Payload):
    """`P/state` (retained): the last cycle."""

    at_utc: UtcText
    cycle: int
    source: Source
    source_reason: str = Field(description="why the dispatch is on this rung")
    handed_back: bool
    read_only: bool = Field(description="true: decided, nothing written (commissioning)")
    soc: float | None
    energy_kwh: float | None
    network_heat_kw: float | None
    outdoor_temp_c: float | None
    source_temp_c: float | None
    units: dict[str, UnitView]
    boiler: BoilerView | None
    interlocks: list[InterlockView]
    overrides: list[OverrideView]


class PlanUnit(_Payload):
    on: list[bool]
    heat_kw: list[float] = Field(description="planned heat per step, kW")
    power_kw: list[float] = Field(description="planned electric power per step, kW")


class PlanPayload(_Payload):
    """`P/plan` (retained): the plan in use. Every list has `steps` entries, step k starting at
    `start_utc + k * step_s`."""

    status: str
    usable: bool
    start_utc: UtcText
    step_s: float
    steps: int
    valid_until_utc: UtcText
    objective_eur: float | None
    mip_gap: float | None
    solve_time_s: float | None
    solver_start: str
    time_to_first_solution_s: float | None
    electricity_eur: float | None
    boiler_fuel_eur: float | None
    start_eur: float | None
    carbon_t: float | None
    fuel_price_eur_per_mwh: float | None = Field(
        description="the boiler's fuel price the plan used, EUR per MWh of fuel"
    )
    units: dict[str, PlanUnit]
    power_kw: list[float] = Field(description="all heat pumps' planned electric power, kW")
    boiler_heat_kw: list[float]
    boiler_fuel_kw: list[float] = Field(description="fuel burnt (heat over efficiency), kW")
    boiler_fuel_eur_per_step: list[float]
    storage_kwh: list[float] = Field(description="stored energy at the end of each step")
    price_eur_per_mwh: list[float]
    carbon_g_per_kwh: list[float]
    inputs: dict[str, str] | None = Field(
        default=None, description="where each input came from (price, carbon, outdoor, ...)"
    )


class EventPayload(_Payload):
    """`P/events`: interlocks, fallbacks (down the dispatch ladder) and recoveries (up it),
    hand-backs, plans, overrides released or expired, trips, policy errors. Timestamps inside
    `detail` use the same format as `at_utc`."""

    at_utc: UtcText
    kind: PublishedEventKind
    equipment: str | None
    detail: dict[str, object] = Field(
        description="per kind; fallback and recovery: from, to and reason"
    )


class ReplyPayload(_Payload):
    """`P/reply`: the answer to every request."""

    id: str | None
    accepted: bool
    reason: str
    warning: str | None = Field(
        description="accepted, but it competes with a request in force at the same priority"
    )
    at_utc: UtcText


MODELS: dict[str, type[BaseModel]] = {
    "state": StatePayload,
    "plan": PlanPayload,
    "events": EventPayload,
    "reply": ReplyPayload,
}
STATUS_SCHEMA: dict[str, object] = {
    "title": "StatusPayload",
    "description": "`P/status` (retained): plain text, not JSON",
    "type": "string",
    "enum": ["online", "offline"],
}


def schemas() -> dict[str, dict[str, object]]:
    """Topic (under the prefix) -> its JSON schema."""
    out: dict[str, dict[str, object]] = {
        name: model.model_json_schema() for name, model in MODELS.items()
    }
    out["status"] = STATUS_SCHEMA
    return out


def render(schema: dict[str, object]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def write_schemas(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in schemas().items():
        path = folder / f"{name}.json"
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for written_path in write_schemas(
        Path(sys.argv[1] if len(sys.argv) > 1 else "docs/mqtt-schemas")
    ):
        print(written_path)
