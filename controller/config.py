"""Controller configuration: the `[control]` table of a plant file, validated with pydantic.

`load_plant` reads a plant TOML once and returns everything the controller needs: the site
(equipment, ratings, connections), the control settings and every device's point map. Any
error names the file, the field and what is wrong, and the controller refuses to start.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Annotated, Literal, Self, TypeVar

from pydantic import Field, ValidationError, model_validator

from drivers.bounds import (
    EurPerMwh,
    EurPerT,
    HoldS,
    MarginK,
    NetworkKw,
    ProtectionS,
    ProtectionSOrZero,
    SupplyTempC,
)
from drivers.kinds import Role
from drivers.pointmap import PointMap, PointMapError
from drivers.schema import (
    StrictModel,
    error_message,
    join_problems,
    problem_lines,
    read_toml,
    report,
)
from drivers.site import SiteConfig, SiteError, parse_site

Fraction = Annotated[float, Field(ge=0, le=1)]


class ConfigError(ValueError):
    """A configuration the controller refuses to start with; the message says where and why."""


class StagingConfig(StrictModel):
    """Rule-based staging with the measured load and the tank (the fallback and the baseline)."""

    soc_start_next: Fraction = 0.40  # below this, start the first unit even at a small load
    soc_stop_one: Fraction = 0.85  # above this (tank full), stop a unit, the last one too
    soc_target: Fraction = 0.60  # load of running units is trimmed toward this
    soc_recovery_h: Annotated[float, Field(gt=0, le=48)] = (
        3.0  # how fast the trim closes the SoC gap
    )
    soc_boiler_on: Fraction = 0.15  # below this with every unit running, the boiler helps
    soc_boiler_off: Fraction = 0.30
    soc_max_plan: Fraction = 0.85  # a stratified tank's top reaches its limit before SoC 1
    soc_reserve_plan: Fraction = 0.2  # the plan keeps this much: forecasts err, units start late
    high_limit_soft_band_k: MarginK = 3.0  # trim to min load this close
    # a unit whose lift (supply minus source) is this close to where the lift interlock stops
    # it is not started, and is stopped once its minimum run allows, and the plan leaves it off
    lift_soft_band_k: MarginK = 1.0
    # the load (network demand + what the tank needs) decides how many units run: stop one when
    # the others carry it at or below this share of their maximum (an efficient load, with
    # margin), start one when it passes this share of the running units' maximum (above 1: the
    # tank bridges a small excess for a while, sparing a start); the gap is the hysteresis
    stage_down_load_fraction: Annotated[float, Field(gt=0, le=1)] = 0.8
    stage_up_load_fraction: Annotated[float, Field(gt=0, le=2)] = 1.25
    recent_trip_h: Annotated[float, Field(ge=0, le=720)] = (
        24.0  # tripped this recently: started last
    )

    @model_validator(mode="after")
    def _check_band(self) -> Self:
        problems = []
        if not self.soc_start_next < self.soc_target < self.soc_stop_one:
            problems.append("need soc_start_next < soc_target < soc_stop_one")
        if not self.stage_down_load_fraction < self.stage_up_load_fraction:
            problems.append("need stage_down_load_fraction < stage_up_load_fraction")
        if not self.soc_boiler_on < self.soc_boiler_off:
            problems.append("need soc_boiler_on < soc_boiler_off")
        if not self.soc_reserve_plan < self.soc_target < self.soc_max_plan:
            problems.append("need soc_reserve_plan < soc_target < soc_max_plan")
        report(problems)
        return self


class SafetyConfig(StrictModel):
    """Margins the interlocks keep from the equipment's limits."""

    tank_high_margin_k: MarginK = 2.0  # stop charging this close to max
    supply_high_margin_k: MarginK = 3.0
    trip_reset_s: HoldS = 300.0  # hold a tripped unit off this long
    valve_open_confirm_pct: Annotated[float, Field(gt=0, le=100)] = 90.0
    valve_run_on_s: ProtectionSOrZero = 60.0  # valve closes this long after a stop
    stale_handback_s: ProtectionS = 30.0  # tank blind this long: hand back


class PlannerConfig(StrictModel):
    """The MILP dispatch planner: cadence, horizon, solver limits, market information."""

    interval_s: Annotated[float, Field(ge=60, le=86_400)] = (
        900.0  # re-plan this often, and on new prices
    )
    step_s: Annotated[float, Field(ge=300, le=3600)] = 900.0
    horizon_h: Annotated[float, Field(ge=2, le=96)] = 36.0
    time_limit_s: Annotated[float, Field(gt=0, le=300)] = 5.0
    mip_rel_gap: Annotated[float, Field(ge=0, le=0.5)] = 0.01
    carbon_price_eur_per_t: EurPerT = 0.0
    emissions_cap_kg: Annotated[float, Field(ge=0, le=1e12)] | None = None
    # a plan may not emit more CO2 over its horizon than the heat pumps run on demand would
    # (the boiler only beyond their capacity), except at this penalty: no saving bought with CO2
    co2_guard: bool = True
    co2_guard_penalty_eur_per_t: Annotated[float, Field(gt=0, le=1e6)] = 1000.0
    grid_import_limit_kw: NetworkKw | None = None
    # when the day-ahead results are really known, in the plant's time zone: the auction
    # closes at 12:00 CET and its results are published about 12:45-12:55 (EPEX/Nord Pool)
    price_publication_local: str = "13:00"
    # a last plan is trusted this long; finite, with no upper bound: the offline evaluator's
    # perfect-foresight runs trust one plan over their horizon (a replayed year for the bound)
    max_plan_age_s: Annotated[float, Field(gt=0)] = 4 * 3600.0
    replan_soc_deviation: Fraction = 0.15  # re-plan early when the tank strays this far from plan
    unmet_penalty_eur_per_mwh: Annotated[float, Field(gt=0, le=1e7)] = 10_000.0
    # plan stability: a new plan keeps the previous plan's commitment over the first hold_h
    # hours unless a change gains more than hold_eur_per_mwh per MWh the unit could make in
    # the changed time (0 turns the hold off)
    hold_h: Annotated[float, Field(ge=0, le=24)] = 1.0
    hold_eur_per_mwh: EurPerMwh = 2.0

    @model_validator(mode="after")
    def _check_publication(self) -> Self:
        hour, _, minute = self.price_publication_local.partition(":")
        if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
            raise ValueError(
                f"price_publication_local '{self.price_publication_local}' is not HH:MM"
            )
        return self

    @property
    def publication_time(self) -> time:
        hour, _, minute = self.price_publication_local.partition(":")
        return time(int(hour), int(minute))

    @property
    def horizon_steps(self) -> int:
        return round(self.horizon_h * 3600.0 / self.step_s)


class MarketConfig(StrictModel):
    """Where live prices come from: a scenario-format CSV the trading system keeps up to date."""

    price_file: str | None = None  # relative to the plant file


class MqttTlsConfig(StrictModel):
    """TLS to the broker: a CA to trust, and a client certificate when the broker asks for one."""

    ca_file: str | None = None  # None: the system's trusted CAs
    cert_file: str | None = None
    key_file: str | None = None

    @model_validator(mode="after")
    def _check_pair(self) -> Self:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("tls.cert_file and tls.key_file go together")
        return self


class MqttConfig(StrictModel):
    """The MQTT bridge (state, plan, events out; prices, carbon, operator requests in)."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 1883
    topic_prefix: str | None = None  # default "hpctl/<plant name>"
    client_id: str | None = None  # default "hpctl-<plant name>"
    username: str | None = None
    password_file: str | None = None  # relative to the plant file; never the password itself
    tls: MqttTlsConfig | None = None
    keepalive_s: Annotated[int, Field(ge=5, le=3600)] = 30
    publish_interval_s: Annotated[float, Field(ge=0.1, le=3600)] = 5.0

    @model_validator(mode="after")
    def _check(self) -> Self:
        prefix = self.topic_prefix
        if prefix is not None and (
            not prefix or any(c in prefix for c in "+#\0") or prefix.startswith("/")
        ):
            raise ValueError(f"topic_prefix '{prefix}' must be a topic without wildcards")
        if self.password_file is not None and self.username is None:
            raise ValueError("password_file needs a username")
        return self


class OverridesConfig(StrictModel):
    """Caps on the operator requests in force at once (the desk refuses one beyond them)."""

    max_per_operator: Annotated[int, Field(ge=1, le=1000)] = 16
    max_total: Annotated[int, Field(ge=1, le=1000)] = 64


class ApiConfig(StrictModel):
    """The HTTP API and the operator page (docs/api.md): reads are open to whoever reaches the
    address, writes need the token, which lives outside the plant file."""

    enabled: bool = False
    host: str = "127.0.0.1"  # exposing it beyond the PC is a choice made here
    port: Annotated[int, Field(ge=0, le=65535)] = 9110
    token_file: str | None = None  # relative to the plant file; never the token itself
    token_env: str = "HPCTL_API_TOKEN"  # read when there is no token_file


class ControlConfig(StrictModel):
    cycle_s: Annotated[float, Field(ge=0.2, le=60)] = 2.0
    read_only: bool = False
    policy: Literal["planner", "merit", "rules"] = "rules"
    metrics_host: str = "127.0.0.1"
    metrics_port: Annotated[int, Field(ge=0, le=65535)] = 9108
    data_dir: str = "data"
    # the audit store keeps this many days (a year and a season by default: an annual review
    # and its follow-up questions still find their rows)
    audit_retention_days: Annotated[int, Field(ge=7, le=3660)] = 400
    supply_temp_setpoint_c: SupplyTempC | None = None  # None: the network's weather compensation
    staging: StagingConfig = StagingConfig()
    safety: SafetyConfig = SafetyConfig()
    planner: PlannerConfig = PlannerConfig()
    market: MarketConfig = MarketConfig()
    mqtt: MqttConfig = MqttConfig()
    overrides: OverridesConfig = OverridesConfig()
    api: ApiConfig = ApiConfig()


@dataclass(frozen=True)
class Plant:
    """A loaded plant: where it came from, its site description, controls and point maps."""

    path: Path
    site: SiteConfig
    control: ControlConfig
    maps: dict[str, PointMap]

    def with_site(self, site: SiteConfig) -> Plant:
        return Plant(path=self.path, site=site, control=self.control, maps=self.maps)

    def with_control(self, **changes: object) -> Plant:
        """A copy with `[control]` settings changed, validated as if read from the file."""
        control = _changed(self.control, changes, f"{self.path}: invalid [control] change", ())
        return Plant(path=self.path, site=self.site, control=control, maps=self.maps)

    def with_replay_step(self, step_s: float) -> Plant:
        """A copy whose cycle is the offline replay's step (minutes, beyond the live bound of
        60 s), so that ramps and protections count in that step. The one unvalidated copy:
        only `cycle_s` changes, and it must be positive."""
        if not step_s > 0:
            raise ConfigError(f"{self.path}: replay step {step_s} s is not positive")
        control = self.control.model_copy(update={"cycle_s": step_s})
        return Plant(path=self.path, site=self.site, control=control, maps=self.maps)

    def with_offline_horizon(self, horizon_h: float) -> Plant:
        """A copy planning over `horizon_h` hours, beyond the live bound of 96 h: the
        evaluator's lower bound is one program over the whole replayed period (a year is
        8,784 h). Unvalidated like `with_replay_step`: only `horizon_h` changes."""
        if not horizon_h > 0:
            raise ConfigError(f"{self.path}: offline horizon {horizon_h} h is not positive")
        planner = self.control.planner.model_copy(update={"horizon_h": horizon_h})
        control = self.control.model_copy(update={"planner": planner})
        return Plant(path=self.path, site=self.site, control=control, maps=self.maps)

    def with_planner(self, **changes: object) -> Plant:
        """A copy with `[control.planner]` settings changed, validated."""
        title = f"{self.path}: invalid [control.planner] change"
        planner = _changed(self.control.planner, changes, title, ("planner",))
        return self.with_control(planner=planner)


Model = TypeVar("Model", bound=StrictModel)


def _changed(
    model: Model, changes: dict[str, object], title: str, prefix: tuple[str, ...]
) -> Model:
    """`model` with `changes`, each changed field validated as if it were read from the file.

    model_copy(update=) alone would skip validation (cycle_s="fast" would be accepted). The
    unchanged fields keep their values, which were validated when loaded (or, for the replay's
    cycle, set on purpose by `with_replay_step`), so they are not checked again."""
    try:
        checked = type(model).model_validate(changes)
    except ValidationError as exc:
        raise ConfigError(error_message(title, exc, changes, ("control", *prefix))) from None
    return model.model_copy(update={name: getattr(checked, name) for name in changes})


def parse_control(raw: dict[str, object], source: str) -> ControlConfig:
    try:
        return ControlConfig.model_validate(raw)
    except ValidationError as exc:
        title = f"{source}: invalid [control] table"
        raise ConfigError(error_message(title, exc, raw, ("control",))) from None


def load_plant(path: Path) -> Plant:
    """Read a plant file and every point map it names; raise ConfigError listing every problem
    found (the site's fields and cross-checks, the `[control]` table, each point map)."""
    data = read_toml(path, ConfigError, "plant config")
    problems: list[str] = []
    site: SiteConfig | None = None
    try:
        site = parse_site(data, str(path), str(path.resolve().parent))
    except SiteError as exc:
        problems.extend(problem_lines(str(exc), f"{path}: invalid plant config"))
    raw_control = data.get("control", {})
    control: ControlConfig | None = None
    if isinstance(raw_control, dict):  # otherwise the site names it
        try:
            control = parse_control(raw_control, str(path))
        except ConfigError as exc:
            problems.extend(problem_lines(str(exc), f"{path}: invalid [control] table"))
    maps: dict[str, PointMap] = {}
    if site is not None:
        try:
            maps = site.load_point_maps()
        except PointMapError as exc:
            problems.extend(problem_lines(str(exc), "point maps"))
        problems.extend(_tank_sensor_problems(site, maps))
    if problems or site is None or control is None:
        raise ConfigError(join_problems(f"{path}: invalid plant config", problems))
    return Plant(path=path, site=site, control=control, maps=maps)


def _tank_sensor_problems(site: SiteConfig, maps: dict[str, PointMap]) -> list[str]:
    problems: list[str] = []
    for tank in site.tanks:
        if tank.name not in maps:  # its map's problems are reported
            continue
        sensors = maps[tank.name].by_role(Role.LAYER_TEMP_C)
        if len(sensors) != tank.layers:
            problems.append(
                f"tank '{tank.name}' has layers = {tank.layers} but its point map "
                f"{tank.pointmap} has {len(sensors)} layer temperature points"
            )
    return problems
