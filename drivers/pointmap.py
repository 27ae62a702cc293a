"""Point maps: a device type described as data (TOML), validated with pydantic.

A map lists each point's name, role, address (Modbus) or node id (OPC UA), data type, word
order, scale, unit, max age, and whether it may be written (with its range and safe default).
Errors name the file and the point so that a commissioning engineer can fix the map directly.
"""

from __future__ import annotations

import tomllib
from enum import Enum
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class PointMapError(ValueError):
    """A point map that cannot be used; the message names the file and what is wrong."""


class DataType(str, Enum):
    BOOL = "bool"
    INT16 = "int16"
    UINT16 = "uint16"
    INT32 = "int32"
    UINT32 = "uint32"
    FLOAT32 = "float32"
    FLOAT64 = "float64"

    @property
    def register_count(self) -> int:
        """16-bit registers the type occupies on Modbus (coils/bools count as one)."""
        return {
            DataType.BOOL: 1,
            DataType.INT16: 1,
            DataType.UINT16: 1,
            DataType.INT32: 2,
            DataType.UINT32: 2,
            DataType.FLOAT32: 2,
            DataType.FLOAT64: 4,
        }[self]


class ModbusTable(str, Enum):
    HOLDING = "holding"  # function codes 3 (read), 6/16 (write)
    INPUT = "input"  # function code 4, read-only
    COIL = "coil"  # function codes 1 (read), 5/15 (write)
    DISCRETE = "discrete"  # function code 2, read-only


class DeviceKind(str, Enum):
    HEAT_PUMP = "heat_pump"
    VALVE = "valve"
    TANK = "tank"
    BOILER = "boiler"
    PLANT = "plant"  # plant-wide measurements: network supply/return, demand, outdoor, source


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Point(_Strict):
    """One value on a device. Writable points carry a range and the value that is safe."""

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    role: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    data_type: DataType
    unit: str = ""
    scale: float = 1.0  # engineering value = raw * scale + offset
    offset: float = 0.0
    max_age_s: Annotated[float, Field(gt=0)] = 10.0
    writable: bool = False
    min: float | None = None
    max: float | None = None
    safe_default: float | None = None
    description: str = ""
    # Modbus
    address: Annotated[int, Field(ge=0, le=65535)] | None = None
    table: ModbusTable | None = None
    word_order: Literal["big", "little"] | None = None  # None: the map's default
    # OPC UA: string identifier; "{device}" is replaced by the instance's node prefix
    node_id: str | None = None
    # Role index for repeated roles (tank layers 1..N, bottom to top)
    index: Annotated[int, Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _check_write_range(self) -> Self:
        if self.writable:
            if self.min is None or self.max is None:
                raise ValueError("a writable point needs 'min' and 'max'")
            if self.min > self.max:
                raise ValueError(f"min {self.min} is above max {self.max}")
            if self.safe_default is None:
                raise ValueError("a writable point needs 'safe_default' (written on hand-back)")
            if not self.min <= self.safe_default <= self.max:
                raise ValueError(f"safe_default {self.safe_default} is outside [min, max]")
        if self.scale == 0:
            raise ValueError("scale must not be zero")
        return self


class ModbusOptions(_Strict):
    word_order: Literal["big", "little"] = "big"
    max_registers_per_read: Annotated[int, Field(ge=1, le=125)] = 100
    max_gap_registers: Annotated[int, Field(ge=0, le=64)] = 8  # read across holes this small


class OpcUaOptions(_Strict):
    namespace_uri: str = "urn:hpctl:plant"


class DeviceInfo(_Strict):
    kind: DeviceKind
    protocol: Literal["modbus", "opcua"]
    vendor: str = ""
    model: str = ""
    description: str = ""


class PointMap(_Strict):
    """A device type: its protocol options and its points."""

    device: DeviceInfo
    modbus: ModbusOptions | None = None
    opcua: OpcUaOptions | None = None
    points: list[Point]
    source: str = "<memory>"  # file the map was read from, for error messages

    @model_validator(mode="after")
    def _check_points(self) -> Self:
        names = [p.name for p in self.points]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate point names: {', '.join(duplicates)}")
        if self.device.protocol == "modbus":
            self._check_modbus()
        else:
            for point in self.points:
                if not point.node_id:
                    raise ValueError(f"point '{point.name}': an OPC UA point needs 'node_id'")
        return self

    def _check_modbus(self) -> None:
        used: dict[tuple[ModbusTable, int], str] = {}
        for point in self.points:
            where = f"point '{point.name}'"
            if point.address is None or point.table is None:
                raise ValueError(f"{where}: a Modbus point needs 'address' and 'table'")
            bit_table = point.table in (ModbusTable.COIL, ModbusTable.DISCRETE)
            if bit_table and point.data_type is not DataType.BOOL:
                raise ValueError(f"{where}: {point.table.value} points must be 'bool'")
            if point.writable and point.table in (ModbusTable.INPUT, ModbusTable.DISCRETE):
                raise ValueError(f"{where}: {point.table.value} registers cannot be written")
            width = 1 if bit_table else point.data_type.register_count
            for offset in range(width):
                key = (point.table, point.address + offset)
                if key in used:
                    raise ValueError(
                        f"{where} overlaps point '{used[key]}' at {point.table.value} "
                        f"address {point.address + offset}"
                    )
                used[key] = point.name

    def point(self, name: str) -> Point:
        for point in self.points:
            if point.name == name:
                return point
        raise KeyError(f"{self.source}: no point named '{name}'")

    def by_role(self, role: str) -> list[Point]:
        """Points with this role, ordered by index (tank layers bottom to top)."""
        found = [p for p in self.points if p.role == role]
        return sorted(found, key=lambda p: p.index if p.index is not None else 0)

    def word_order_of(self, point: Point) -> Literal["big", "little"]:
        if point.word_order is not None:
            return point.word_order
        return self.modbus.word_order if self.modbus else "big"


def parse_point_map(data: dict[str, object], source: str = "<memory>") -> PointMap:
    """Validate a point map from a parsed TOML document; errors name `source` and the field."""
    try:
        return PointMap.model_validate({**data, "source": source})
    except ValidationError as exc:
        raise PointMapError(_describe(exc, source, data)) from None


def load_point_map(path: Path) -> PointMap:
    """Read and validate a point-map TOML file."""
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise PointMapError(f"{path}: point map not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise PointMapError(f"{path}: not valid TOML: {exc}") from None
    return parse_point_map(data, str(path))


def _describe(exc: ValidationError, source: str, data: dict[str, object]) -> str:
    lines = [f"{source}: invalid point map"]
    raw_points = data.get("points")
    for error in exc.errors():
        location = list(error["loc"])
        where = ".".join(str(part) for part in location) or "(top level)"
        index = location[1] if len(location) >= 2 and location[0] == "points" else None
        if isinstance(index, int) and isinstance(raw_points, list) and index < len(raw_points):
            entry = raw_points[index]
            if isinstance(entry, dict) and "name" in entry:
                rest = ".".join(str(part) for part in location[2:])
                where = f"point '{entry['name']}'" + (f" field '{rest}'" if rest else "")
        message = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"  {where}: {message}")
    return "\n".join(lines)
