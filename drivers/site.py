"""The site: the plant's equipment, its ratings, and where each device is reached.

One plant TOML file describes a plant for every part of the product: the drivers bind device
instances to point maps and connections, the controller plans with the ratings, the simulator
builds its physics from them. The `[control]` and `[sim]` tables are kept raw here and
validated by the package that owns them, so this layer imports neither.
"""

from __future__ import annotations

import itertools
import math
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator, model_validator

from drivers.bounds import (
    AirTempC,
    AmplitudeK,
    DeltaK,
    DeviceKw,
    Eur,
    EurPerMwh,
    GramsPerKwh,
    HeightM,
    HoldS,
    LossWPerK,
    NetworkKw,
    NetworkKwOrZero,
    PollS,
    ProtectionS,
    ProtectionSOrZero,
    RampKwPerS,
    SourceTempC,
    SupplyTempC,
    TimeoutS,
    VolumeM3,
    WaterTempC,
)
from drivers.cooling_spec import BoreholeFieldSpec, CoolingSpec
from drivers.datacentre import DataCentreSpec, RecoverableHeat, default_it_load_kw, recoverable_heat
from drivers.heat_pump_cop import ISENTROPIC_EFFICIENCY_DEFAULT, legacy_efficiency
from drivers.kinds import DeviceKind, Role
from drivers.pointmap import PointMap, PointMapError, load_point_map
from drivers.schema import (
    StrictModel,
    error_message,
    join_problems,
    problem_lines,
    read_toml,
    report,
)

Fraction = Annotated[float, Field(ge=0, le=1)]
DAYS_PER_YEAR = 365.25
SOURCE_DAILY_PEAK_LOCAL_HOUR = 15.0  # IT load and the waste heat it makes peak mid-afternoon


class SiteError(ValueError):
    """A plant file that cannot be used; the message names the file, the field and the problem."""


class PlantInfo(StrictModel):
    name: Annotated[str, Field(min_length=1)]
    description: str = ""
    timezone: str = "Europe/Copenhagen"  # market days and the daybook close at local midnight

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            # OSError: a name longer than a file name may be (the zone database is files)
            raise ValueError(
                f"unknown time zone '{value[:80]}' (an IANA name such as 'Europe/Copenhagen')"
            ) from None
        return value


class OpcUaSecurity(StrictModel):
    """OPC UA message security and user identity. Paths are relative to the plant file.

    The only policy offered is Basic256Sha256 (the lowest one still recommended); the password
    lives in its own file, readable by the service user only, never in the plant file."""

    policy: Literal["Basic256Sha256"] = "Basic256Sha256"
    mode: Literal["SignAndEncrypt", "Sign"] = "SignAndEncrypt"
    certificate_file: str  # the controller's certificate (DER or PEM)
    private_key_file: str
    # The server's certificate, pinned. With trust_first_server_certificate: where the first
    # certificate the server shows is stored, and pinned from then on.
    server_certificate_file: str | None = None
    trust_first_server_certificate: bool = False
    application_uri: str | None = None  # must match the URI in the client certificate
    username: str | None = None
    password_file: str | None = None

    @model_validator(mode="after")
    def _check_identity(self) -> Self:
        if (self.username is None) != (self.password_file is None):
            raise ValueError("give both 'username' and 'password_file', or neither")
        return self

    @model_validator(mode="after")
    def _check_server_trust(self) -> Self:
        # Without a pinned certificate the session is encrypted to whoever answers, and the
        # password goes with it.
        if self.server_certificate_file is None:
            raise ValueError(
                "a secured connection needs 'server_certificate_file': the server's "
                "certificate, pinned; or set 'trust_first_server_certificate = true' and "
                "'server_certificate_file' to the path where the first certificate the server "
                "shows is stored and pinned"
            )
        return self


class Connection(StrictModel):
    """Where devices are reached. Modbus: host and port; OPC UA: an endpoint URL."""

    protocol: Literal["modbus", "opcua"]
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 0
    endpoint_path: str = "/hpctl/"  # OPC UA: opc.tcp://host:port{endpoint_path}
    timeout_s: TimeoutS = 1.0
    retries: Annotated[int, Field(ge=0, le=5)] = 1
    security: OpcUaSecurity | None = None  # OPC UA only

    @model_validator(mode="after")
    def _check_security(self) -> Self:
        if self.security is not None and self.protocol != "opcua":
            raise ValueError("'security' applies to OPC UA connections only")
        return self

    @property
    def endpoint(self) -> str:
        return f"opc.tcp://{self.host}:{self.port}{self.endpoint_path}"


class DeviceBinding(StrictModel):
    """A device instance: its name, its point map (a path relative to the plant file) and address."""

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    # a path (relative to the plant file): no NUL byte, which no file system takes in a name
    pointmap: Annotated[str, Field(min_length=1, max_length=1024, pattern=r"^[^\x00]+$")]
    connection: str
    device_id: Annotated[int, Field(ge=0, le=247)] = 1  # Modbus unit id
    node_prefix: str = ""  # OPC UA: replaces "{device}" in node ids; defaults to the name
    poll_interval_s: PollS = 1.0

    @property
    def prefix(self) -> str:
        return self.node_prefix or self.name


class UnitSpec(DeviceBinding):
    """A heat-pump unit. Its COP: drivers/heat_pump_cop.py (Lorenz basis with Jensen et al.'s
    corrections, one calibrated efficiency: `isentropic_efficiency`); see docs/cop.md."""

    heat_max_kw: DeviceKw
    min_load_fraction: Annotated[float, Field(gt=0, le=1)] = 0.3
    # the compressor's isentropic efficiency, the model's one calibrated number; absent, it
    # comes from a legacy `carnot_efficiency` (converted at the rating point) or the default
    isentropic_efficiency: Annotated[float, Field(ge=0.3, le=0.95)] | None = None
    # legacy: the fraction of Carnot of the model before the Lorenz one (kept so that old
    # plant files load with the COP they had at the rating point)
    carnot_efficiency: Annotated[float, Field(gt=0, lt=1)] = 0.5
    refrigerant: Literal["ammonia", "isobutane"] = "ammonia"
    heat_loss_fraction: Annotated[float, Field(ge=0, le=0.2)] = 0.0
    # how far the source cools through the evaporator at full heat output
    source_cooling_k: Annotated[float, Field(ge=0.5, le=20)] = 4.0
    # COP at minimum load / COP at full load; power is the line between the two (as planned)
    part_load_cop_factor: Annotated[float, Field(gt=0.5, le=1)] = 1.0
    # (source_temp_c, share of heat_max_kw) points, source temperatures rising: an air-source
    # unit's capacity falls with the outdoor temperature; absent: heat_max_kw at any source
    capacity_by_source_temp: tuple[tuple[float, float], ...] | None = None
    # defrost (air sources): below this source temperature the COP is x defrost_cop_factor
    defrost_below_source_temp_c: Annotated[float, Field(ge=-30, le=10)] | None = None
    defrost_cop_factor: Annotated[float, Field(ge=0.5, le=1)] = 1.0
    max_supply_temp_c: SupplyTempC = 90.0
    max_lift_k: DeltaK = 75.0
    startup_delay_s: ProtectionSOrZero = 120.0
    ramp_kw_per_s: RampKwPerS = 20.0
    min_run_s: HoldS = 900.0
    min_off_s: HoldS = 600.0
    max_starts_per_hour: Annotated[int, Field(ge=1, le=60)] = 3
    start_cost_eur: Eur = 10.0
    isolation_valve: str | None = None  # valve that must be open before the compressor runs
    heartbeat_timeout_s: ProtectionS = 60.0
    local_setpoint_tank_temp_c: SupplyTempC = 70.0  # local thermostat when supervision is lost

    @property
    def heat_min_kw(self) -> float:
        return self.heat_max_kw * self.min_load_fraction

    @property
    def compressor_efficiency(self) -> float:
        """The efficiency the COP model runs on (see `isentropic_efficiency`)."""
        if self.isentropic_efficiency is not None:
            return self.isentropic_efficiency
        if "carnot_efficiency" in self.model_fields_set:
            return legacy_efficiency(self.carnot_efficiency)
        return ISENTROPIC_EFFICIENCY_DEFAULT

    @model_validator(mode="after")
    def _check_cop_model(self) -> Self:
        if self.isentropic_efficiency is not None and "carnot_efficiency" in self.model_fields_set:
            raise ValueError(
                "give 'isentropic_efficiency' (the COP model's calibrated efficiency) or the "
                "legacy 'carnot_efficiency', not both"
            )
        if self.isentropic_efficiency is None and "carnot_efficiency" in self.model_fields_set:
            converted = legacy_efficiency(self.carnot_efficiency)
            if not 0.3 <= converted <= 0.95:
                raise ValueError(
                    f"carnot_efficiency {self.carnot_efficiency:g} converts to an isentropic "
                    f"efficiency of {converted:.2f}, outside 0.3..0.95; declare "
                    "'isentropic_efficiency' instead (see docs/cop.md)"
                )
        if (self.defrost_below_source_temp_c is None) != (
            "defrost_cop_factor" not in self.model_fields_set
        ):
            raise ValueError(
                "give both 'defrost_below_source_temp_c' and 'defrost_cop_factor', or neither"
            )
        curve = self.capacity_by_source_temp
        if curve is not None:
            if len(curve) < 2:
                raise ValueError(
                    "capacity_by_source_temp needs at least two [source_temp_c, share] points"
                )
            temps = [point[0] for point in curve]
            if any(later <= earlier for earlier, later in itertools.pairwise(temps)):
                raise ValueError(
                    f"capacity_by_source_temp: source temperatures must rise, got {temps}"
                )
            for temp_c, share in curve:
                if not (-40.0 <= temp_c <= 60.0 and math.isfinite(temp_c)):
                    raise ValueError(
                        f"capacity_by_source_temp: source temperature {temp_c:g} is outside "
                        "-40..60 degC"
                    )
                if not 0.0 < share <= 1.0:
                    raise ValueError(
                        f"capacity_by_source_temp: share {share:g} at {temp_c:g} degC must be "
                        "in (0, 1] (a fraction of heat_max_kw)"
                    )
        return self


class ValveSpec(DeviceBinding):
    travel_time_s: ProtectionS = 30.0


class TankSpec(DeviceBinding):
    volume_m3: VolumeM3
    height_m: HeightM = 10.0
    layers: Annotated[int, Field(ge=6, le=50)] = 8
    min_temp_c: WaterTempC = 60.0  # state of charge 0 %: the coolest water the network can use
    max_temp_c: SupplyTempC = 90.0  # state of charge 100 %
    loss_w_per_k: LossWPerK = 500.0  # UA to ambient, whole tank
    ambient_temp_c: AirTempC = 10.0

    @model_validator(mode="after")
    def _check_temps(self) -> Self:
        if self.min_temp_c >= self.max_temp_c:
            raise ValueError(
                f"min_temp_c {self.min_temp_c:g} must be below max_temp_c {self.max_temp_c:g}"
            )
        return self

    @property
    def capacity_kwh(self) -> float:
        """Usable energy between min and max temperature (water, 4.19 kJ/kg/K, 975 kg/m3)."""
        return self.volume_m3 * 975.0 * 4.19 * (self.max_temp_c - self.min_temp_c) / 3600.0


class BoilerSpec(DeviceBinding):
    heat_max_kw: DeviceKw
    min_load_fraction: Fraction = 0.1
    efficiency: Annotated[float, Field(gt=0, le=1.1)] = 0.92
    fuel_price_eur_per_mwh: EurPerMwh = 45.0  # per MWh of fuel
    fuel_carbon_g_per_kwh: GramsPerKwh = 202.0  # natural gas, per kWh fuel
    # the installation's combustion units total over 20 MW rated thermal input: it is in the
    # EU ETS and pays allowances for the boiler's CO2 (cash, at the plant's carbon price)
    in_emissions_trading: bool = False
    startup_delay_s: ProtectionSOrZero = 60.0
    heartbeat_timeout_s: ProtectionS = 60.0


NETWORK = "network"


class HeatMeterSpec(DeviceBinding):
    """A heat meter of its own: `measures` is "network" (the plant's outlet into the network,
    the fiscal meter) or the name of the unit whose condenser side it meters."""

    measures: str = NETWORK


class NetworkSpec(StrictModel):
    """The district-heating (or process) network the plant serves."""

    design_heat_kw: NetworkKw
    design_outdoor_temp_c: AirTempC = -12.0
    heating_limit_temp_c: AirTempC = 17.0  # space heating stops above this outdoor temperature
    base_load_fraction: Fraction = 0.15  # domestic hot water and losses, all year
    supply_temp_c: SupplyTempC = 75.0  # at design outdoor temperature
    supply_temp_warm_c: SupplyTempC = 65.0  # at the heating limit (weather compensation)
    supply_temp_min_c: SupplyTempC = 60.0  # below this the network is under-supplied
    return_temp_c: WaterTempC = 40.0
    cooling_design_kw: NetworkKwOrZero = 0.0  # hospital-type plants


class SourceSpec(StrictModel):
    """The heat source: its temperature drives the COP.

    Its declared curve (`temp_c`): mean - annual_amplitude x cos(2 pi (day - coldest_day) /
    365.25), the minimum on the coldest day of the year, plus a daily sine peaking at 15:00 local
    time (waste heat follows the IT load), clipped to [min_temp_c, max_temp_c], the range the
    source really stays within (a river does not freeze below its ice point, a cooling loop has a
    control band). The simulator runs on it and the planner falls back to it when nothing
    measured the source: one formula for both.

    A `data_centre` table replaces the curve for a waste-heat source: the temperature and the
    heat the heat pumps may take then follow the IT load (drivers/datacentre.py).
    """

    kind: Literal["river", "borehole", "waste_heat", "sea", "air"]
    mean_temp_c: SourceTempC
    annual_amplitude_k: AmplitudeK = 0.0
    coldest_day_of_year: Annotated[int, Field(ge=1, le=366)] = 40
    daily_amplitude_k: AmplitudeK = 0.0  # waste heat following IT load
    min_temp_c: SourceTempC = -5.0
    max_temp_c: SourceTempC = 45.0
    data_centre: DataCentreSpec | None = None
    borehole_field: BoreholeFieldSpec | None = None  # kind "borehole": the field's response

    def recoverable(
        self, when_utc: datetime, timezone: str | ZoneInfo, it_load_kw: float | None = None
    ) -> RecoverableHeat | None:
        """A data centre's loop at `when_utc` (at `it_load_kw`, else its default profile), its
        temperature clipped to [min_temp_c, max_temp_c]; None for a source without a limit."""
        spec = self.data_centre
        if spec is None:
            return None
        if it_load_kw is None:
            zone = timezone if isinstance(timezone, ZoneInfo) else ZoneInfo(timezone)
            it_load_kw = default_it_load_kw(spec, when_utc, zone)
        loop = recoverable_heat(spec, it_load_kw)
        clipped_c = min(self.max_temp_c, max(self.min_temp_c, loop.temp_c))
        return RecoverableHeat(it_load_kw=loop.it_load_kw, heat_kw=loop.heat_kw, temp_c=clipped_c)

    def temp_c(self, when_utc: datetime, timezone: str | ZoneInfo) -> float:
        """The declared curve at `when_utc`, the plant's local calendar and clock deciding."""
        loop = self.recoverable(when_utc, timezone)
        if loop is not None:
            return loop.temp_c
        zone = timezone if isinstance(timezone, ZoneInfo) else ZoneInfo(timezone)
        local = when_utc.astimezone(zone)
        hour = local.hour + local.minute / 60.0 + local.second / 3600.0
        day_of_year = local.timetuple().tm_yday + hour / 24.0
        annual = -self.annual_amplitude_k * math.cos(
            2.0 * math.pi * (day_of_year - self.coldest_day_of_year) / DAYS_PER_YEAR
        )
        # sin peaks a quarter period (6 h) after its zero crossing: zero at 09:00, peak at 15:00
        daily = self.daily_amplitude_k * math.sin(
            2.0 * math.pi * (hour - (SOURCE_DAILY_PEAK_LOCAL_HOUR - 6.0)) / 24.0
        )
        return min(self.max_temp_c, max(self.min_temp_c, self.mean_temp_c + annual + daily))


class SiteConfig(StrictModel):
    """A whole plant file: equipment, ratings, connections; raw `control` and `sim` tables."""

    plant: PlantInfo
    connections: dict[str, Connection]
    network: NetworkSpec
    source: SourceSpec
    units: list[UnitSpec]
    valves: list[ValveSpec] = Field(default_factory=list)
    tanks: list[TankSpec]
    boiler: BoilerSpec | None = None
    cooling: CoolingSpec | None = None  # a plant that also cools (drivers/cooling_spec.py)
    plant_io: DeviceBinding | None = None  # plant-wide measurements (network, outdoor, source)
    heat_meters: list[HeatMeterSpec] = Field(default_factory=list)
    control: dict[str, Any] = Field(default_factory=dict)
    sim: dict[str, Any] = Field(default_factory=dict)
    base_dir: str = "."  # directory of the plant file, for relative point-map paths

    @model_validator(mode="after")
    def _check_references(self) -> Self:
        """Checks across fields and devices, every problem reported (not just the first)."""
        problems: list[str] = []
        if not self.units:
            problems.append("a plant needs at least one unit")
        if not self.tanks:
            # the controller's estimate, staging and plan all run on the tank's state of charge
            problems.append("a plant needs at least one tank: the controller dispatches storage")
        problems.extend(_network_problems(self.network))
        problems.extend(_source_problems(self.source))
        problems.extend(_cooling_problems(self.cooling, self.network, self.source))
        names = [device.name for device in self.devices()]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            problems.append(f"duplicate device names: {', '.join(duplicates)}")
        for tank in self.tanks:
            if tank.min_temp_c < self.network.supply_temp_min_c:
                problems.append(
                    f"tank '{tank.name}': min_temp_c {tank.min_temp_c:g} is below the network's "
                    f"supply_temp_min_c {self.network.supply_temp_min_c:g}: water that cannot supply "
                    "the network must not count as stored heat"
                )
        for device in self.devices():
            if device.connection not in self.connections:
                problems.append(
                    f"device '{device.name}': connection '{device.connection}' is not defined "
                    f"(known: {', '.join(sorted(self.connections)) or 'none'})"
                )
        unit_names = {unit.name for unit in self.units}
        for meter in self.heat_meters:
            if meter.measures != NETWORK and meter.measures not in unit_names:
                problems.append(
                    f"heat meter '{meter.name}': measures '{meter.measures}' is neither "
                    f"'{NETWORK}' nor a unit (units: {', '.join(sorted(unit_names))})"
                )
        problems.extend(self._address_problems())
        problems.extend(self._unit_problems())
        report(problems)
        return self

    def _unit_problems(self) -> list[str]:
        problems: list[str] = []
        valve_names = {valve.name for valve in self.valves}
        valve_users: dict[str, str] = {}
        for unit in self.units:
            if unit.local_setpoint_tank_temp_c > unit.max_supply_temp_c:
                problems.append(
                    f"unit '{unit.name}': local_setpoint_tank_temp_c "
                    f"{unit.local_setpoint_tank_temp_c:g} is above its max_supply_temp_c "
                    f"{unit.max_supply_temp_c:g}"
                )
            if unit.isolation_valve is None:
                continue
            other = valve_users.setdefault(unit.isolation_valve, unit.name)
            if other != unit.name:
                problems.append(
                    f"units '{other}' and '{unit.name}' share isolation_valve "
                    f"'{unit.isolation_valve}': closing it for one would starve the other"
                )
            if unit.isolation_valve not in valve_names:
                problems.append(
                    f"unit '{unit.name}': isolation_valve '{unit.isolation_valve}' is not a valve"
                )
        return problems

    def _address_problems(self) -> list[str]:
        """Two devices at one address would read each other's values and take each other's
        commands: Modbus device ids and OPC UA node prefixes are unique per connection."""
        problems: list[str] = []
        seen: dict[tuple[str, object], str] = {}
        for device in self.devices():
            connection = self.connections.get(device.connection)
            if connection is None:  # reported with the connections
                continue
            modbus = connection.protocol == "modbus"
            address: object = device.device_id if modbus else device.prefix
            other = seen.setdefault((device.connection, address), device.name)
            if other != device.name:
                what = f"device_id {address}" if modbus else f"node prefix '{address}'"
                problems.append(
                    f"devices '{other}' and '{device.name}' have the same {what} on "
                    f"connection '{device.connection}'"
                )
        return problems

    def devices(self) -> list[DeviceBinding]:
        return [binding for _, binding in self.bindings()]

    def bindings(self) -> list[tuple[DeviceKind, DeviceBinding]]:
        """Every device with the kind its point map must be for (the site's tables say it)."""
        found: list[tuple[DeviceKind, DeviceBinding]] = [
            *((DeviceKind.HEAT_PUMP, unit) for unit in self.units),
            *((DeviceKind.VALVE, valve) for valve in self.valves),
            *((DeviceKind.TANK, tank) for tank in self.tanks),
        ]
        if self.boiler is not None:
            found.append((DeviceKind.BOILER, self.boiler))
        if self.plant_io is not None:
            found.append((DeviceKind.PLANT_IO, self.plant_io))
        found.extend((DeviceKind.HEAT_METER, meter) for meter in self.heat_meters)
        return found

    def device(self, name: str) -> DeviceBinding:
        for device in self.devices():
            if device.name == name:
                return device
        raise KeyError(f"no device named '{name}'")

    def point_map_path(self, device: DeviceBinding) -> Path:
        return (Path(self.base_dir) / device.pointmap).resolve()

    def load_point_maps(self) -> dict[str, PointMap]:
        """Each device's point map, checked against the kind and protocol the site expects;
        a PointMapError lists every device's problems, one line each."""
        maps: dict[str, PointMap] = {}
        cache: dict[Path, PointMap | PointMapError] = {}
        problems: list[str] = []
        for kind, device in self.bindings():
            path = self.point_map_path(device)
            if path not in cache:
                try:
                    cache[path] = load_point_map(path)
                except PointMapError as exc:
                    cache[path] = exc
                    problems.extend(
                        f"device '{device.name}': {line}" for line in _map_lines(str(exc), path)
                    )
            point_map = cache[path]
            if isinstance(point_map, PointMapError):
                continue
            where = f"device '{device.name}' ({path})"
            if point_map.device.kind is not kind:
                problems.append(
                    f"{where}: map is for a {point_map.device.kind.value}, expected a {kind.value}"
                )
                continue
            protocol = self.connections[device.connection].protocol
            if point_map.device.protocol != protocol:
                problems.append(
                    f"{where}: map speaks {point_map.device.protocol}, but connection "
                    f"'{device.connection}' is {protocol}"
                )
            if isinstance(device, TankSpec):
                problems.extend(_layer_problems(where, point_map, device.layers))
            maps[device.name] = point_map
        if problems:
            raise PointMapError(join_problems("point maps", problems))
        return maps

    def with_ports(self, ports: dict[str, int], host: str = "127.0.0.1") -> SiteConfig:
        """A copy whose named connections point at other ports (simulator on free ports)."""
        connections = dict(self.connections)
        for name, port in ports.items():
            moved = {**connections[name].model_dump(), "port": port, "host": host}
            try:  # validated, unlike model_copy(update=)
                connections[name] = Connection.model_validate(moved)
            except ValidationError as exc:
                title = f"connection '{name}': cannot move to {host}:{port}"
                raise SiteError(error_message(title, exc, moved)) from None
        return self.model_copy(update={"connections": connections})


def _network_problems(network: NetworkSpec) -> list[str]:
    problems: list[str] = []
    if network.return_temp_c >= network.supply_temp_min_c:
        problems.append(
            f"network: return_temp_c {network.return_temp_c:g} is not below "
            f"supply_temp_min_c {network.supply_temp_min_c:g}"
        )
    if not network.supply_temp_min_c <= network.supply_temp_warm_c <= network.supply_temp_c:
        problems.append(
            f"network: need supply_temp_min_c {network.supply_temp_min_c:g} <= "
            f"supply_temp_warm_c {network.supply_temp_warm_c:g} <= "
            f"supply_temp_c {network.supply_temp_c:g}"
        )
    if network.design_outdoor_temp_c >= network.heating_limit_temp_c:
        problems.append(
            f"network: design_outdoor_temp_c {network.design_outdoor_temp_c:g} is not below "
            f"heating_limit_temp_c {network.heating_limit_temp_c:g}"
        )
    return problems


def _cooling_problems(
    cooling: CoolingSpec | None, network: NetworkSpec, source: SourceSpec
) -> list[str]:
    problems: list[str] = []
    if cooling is not None and network.cooling_design_kw > 0:
        problems.append(
            "network.cooling_design_kw and a [cooling] table both set: give the cooling demand "
            "once, as cooling.design_kw"
        )
    if cooling is not None and cooling.free_cooling_max_kw > 0 and source.borehole_field is None:
        problems.append(
            "cooling.free_cooling_max_kw needs a borehole field to cool into "
            "([source.borehole_field])"
        )
    return problems


def _source_problems(source: SourceSpec) -> list[str]:
    if source.borehole_field is not None and source.kind != "borehole":
        return [f"source: a borehole_field table needs kind 'borehole', not '{source.kind}'"]
    if source.data_centre is not None and source.kind != "waste_heat":
        return [f"source: a data_centre table needs kind 'waste_heat', not '{source.kind}'"]
    if source.data_centre is not None and source.daily_amplitude_k > 0:
        return [
            "source: daily_amplitude_k and data_centre both set: a data centre's loop follows "
            "its IT load (it_load_kw or the default profile); set daily_amplitude_k = 0"
        ]
    if source.min_temp_c >= source.max_temp_c:
        return [
            f"source: min_temp_c {source.min_temp_c:g} is not below "
            f"max_temp_c {source.max_temp_c:g}"
        ]
    if not source.min_temp_c <= source.mean_temp_c <= source.max_temp_c:
        return [
            f"source: mean_temp_c {source.mean_temp_c:g} is outside min_temp_c "
            f"{source.min_temp_c:g} .. max_temp_c {source.max_temp_c:g}"
        ]
    return []


def parse_site(data: dict[str, Any], source: str, base_dir: str = ".") -> SiteConfig:
    """Validate a parsed plant document; the error names `source`, the field and the problem."""
    try:
        return SiteConfig.model_validate({**data, "base_dir": base_dir})
    except ValidationError as exc:
        raise SiteError(error_message(f"{source}: invalid plant config", exc, data)) from None


def load_site(path: Path) -> SiteConfig:
    """Read and validate a plant TOML file."""
    data = read_toml(path, SiteError, "plant config")
    return parse_site(data, str(path), str(path.resolve().parent))


def _map_lines(message: str, path: Path) -> list[str]:
    """A point map's problems, each with the map's file (the title may not repeat it)."""
    head, *rest = message.splitlines()
    if not rest:
        return [head]
    lines = problem_lines(message)
    return [f"{path}: {line}" for line in lines]


def _layer_problems(where: str, point_map: PointMap, layers: int) -> list[str]:
    """The estimate reads layers 1..N bottom to top: a gap or an extra index is a blind layer
    or a sensor that is never read."""
    indexes = sorted(p.index for p in point_map.points if p.role == Role.LAYER_TEMP_C and p.index)
    if indexes != list(range(1, layers + 1)):
        return [
            f"{where}: the tank has {layers} layers, so the map needs layer_temp_c with index "
            f"1..{layers} once each; it has {indexes}"
        ]
    return []
