"""What the HTTP API answers, as pydantic models: they validate nothing coming in (the operator
requests have their own models in controller/runtime/requests.py), they give the OpenAPI schema
its shape and keep each answer's fields and units stated in one place."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class UnitView(_View):
    name: str
    state: str = Field(description="off, starting, running, stopping, tripped; or no_data")
    state_code: int | None
    data_good: bool
    heat_kw: float | None
    power_kw: float | None
    cop: float | None
    supply_temp_c: float | None
    target_on: bool
    target_heat_kw: float
    enable: bool | None = Field(description="what the controller commanded; None: no command")
    heat_setpoint_kw: float | None
    remote: bool | None = Field(description="False: handed to the unit's own control")
    reason: str


class BoilerView(_View):
    name: str
    state: str
    state_code: int | None
    heat_kw: float | None
    enable: bool | None
    heat_setpoint_kw: float | None


class TankView(_View):
    name: str
    soc: float | None = Field(description="0..1 of the usable stored heat; None when blind")
    energy_kwh: float | None
    capacity_kwh: float
    layer_temps_c: list[float | None] = Field(description="bottom to top")


class InterlockView(_View):
    equipment: str
    reason: str
    detail: str


class DispatchView(_View):
    policy: str = Field(description="the plant file's policy: planner, merit or rules")
    rung: str = Field(description="what decided this cycle: plan, last_plan, rules, merit, ...")
    reason: str = Field(description="why this rung, in words")
    policy_error: str | None = Field(description="the policy raised this cycle: the rules decided")


class OverrideView(_View):
    id: str
    kind: str
    priority: int
    operator: str
    received_utc: str
    expires_utc: str
    unit: str | None = None
    on: bool | None = None
    heat_kw: float | None = None
    max_power_kw: float | None = None
    min_heat_kw: float | None = None
    describe: str = Field(description="the request in words")


class StateView(_View):
    at_utc: str
    cycle: int
    plant: str
    read_only: bool = Field(description="commissioning: decided, nothing written to the plant")
    handed_back: bool = Field(description="the units run on their own local control")
    writes_enabled: bool = Field(description="this API takes requests (a token is configured)")
    dispatch: DispatchView
    network_heat_kw: float | None
    outdoor_temp_c: float | None
    source_temp_c: float | None
    soc: float | None = Field(description="all tanks together, 0..1")
    energy_kwh: float | None
    tanks: list[TankView]
    units: list[UnitView]
    boiler: BoilerView | None
    interlocks: list[InterlockView]
    overrides: list[OverrideView]


class PlanUnitView(_View):
    on: list[bool]
    heat_kw: list[float]
    power_kw: list[float] = Field(description="planned electric power per step")


class PlanView(_View):
    status: str
    usable: bool
    start_utc: str
    step_s: float
    steps: int
    valid_until_utc: str
    step_start_utc: list[str] = Field(description="the start of each step")
    objective_eur: float | None
    mip_gap: float | None
    electricity_eur: float | None
    boiler_fuel_eur: float | None
    carbon_t: float | None
    units: dict[str, PlanUnitView]
    boiler_heat_kw: list[float]
    storage_kwh: list[float] = Field(description="stored heat at the end of each step")
    grid_power_kw: list[float] = Field(description="all units' electric power per step")
    heat_demand_kw: list[float]
    price_eur_per_mwh: list[float]
    carbon_g_per_kwh: list[float]
    boiler_fuel_price_eur_per_mwh: float


class AuditView(_View):
    id: int
    at_utc: str
    kind: str
    equipment: str | None
    detail: dict[str, object]


class AnswerView(_View):
    """The desk's answer, as the MQTT reply topic carries it."""

    id: str | None
    accepted: bool
    reason: str
    at_utc: str
    # set when an accepted request competes with another in force at the same priority
    warning: str | None = None


class ProblemView(_View):
    """Why a call was refused: `detail` names the field and what is allowed."""

    detail: str
    errors: list[dict[str, str]] = Field(default_factory=list)
