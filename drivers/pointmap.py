"""Point maps: a device type described as data (TOML), validated with pydantic.

A map names its device kind and lists each point's name, role, address (Modbus) or node id
(OPC UA), data type, word order, scale, unit, max age, and whether it may be written (with its
range and safe default). A point may translate a vendor's codes onto the role's values
(`value_map`) and may be one bit, or a run of bits, of a register (`bit`, `bit_count`).
The roles are checked against the kind (`drivers.kinds`). Errors name the file and the point
so that a commissioning engineer can fix the map directly.
"""

from __future__ import annotations

from enum import Enum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator

from drivers.bounds import PointNumber, PollS
from drivers.kinds import KINDS, DeviceKind, KindSpec, closest_role, value_label
from drivers.schema import StrictModel, error_message, read_toml, report


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


INTEGER_RANGES: dict[DataType, tuple[int, int]] = {
    DataType.BOOL: (0, 1),
    DataType.INT16: (-(2**15), 2**15 - 1),
    DataType.UINT16: (0, 2**16 - 1),
    DataType.INT32: (-(2**31), 2**31 - 1),
    DataType.UINT32: (0, 2**32 - 1),
}
FLOAT32_MAX = 3.4028234663852886e38
# raw values a point's range must fit, after scale and offset
RAW_RANGES: dict[DataType, tuple[float, float]] = {
    **INTEGER_RANGES,
    DataType.FLOAT32: (-FLOAT32_MAX, FLOAT32_MAX),
}
CODE_TYPES = (DataType.INT16, DataType.UINT16, DataType.INT32, DataType.UINT32)
BIT_FIELD_TYPES = (DataType.UINT16, DataType.UINT32)  # unsigned: a bit is a bit, not a sign


# What a limit may be in each unit the maps use: powers, energies, flows and times are never
# negative; the largest devices are a few hundred MW; temperatures span outdoor air to steam.
UNIT_LIMITS: dict[str, tuple[float, float]] = {
    "kW": (0.0, 1e7),
    "kWh": (0.0, 1e12),
    "MW": (0.0, 1e4),
    "m3/h": (0.0, 1e6),
    "h": (0.0, 1e7),
    "s": (0.0, 1e9),
    "%": (0.0, 100.0),
    "degC": (-60.0, 200.0),
    "°C": (-60.0, 200.0),
}


class Point(StrictModel):
    """One value on a device. Writable points carry a range and the value that is safe."""

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    role: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    data_type: DataType
    unit: str = ""
    scale: PointNumber = 1.0  # engineering value = raw * scale + offset
    offset: PointNumber = 0.0
    max_age_s: PollS = 10.0  # older than this, the value is stale (never a protection's input)
    writable: bool = False
    min: PointNumber | None = None
    max: PointNumber | None = None
    safe_default: PointNumber | None = None
    description: str = ""
    # Modbus
    address: Annotated[int, Field(ge=0, le=65535)] | None = None
    table: ModbusTable | None = None
    word_order: Literal["big", "little"] | None = None  # None: the map's default
    # OPC UA: string identifier; "{device}" is replaced by the instance's node prefix
    node_id: str | None = None
    # Role index for repeated roles (tank layers 1..N, bottom to top)
    index: Annotated[int, Field(ge=1, le=1000)] | None = None
    # Vendor code -> the role's value ("0x0010" = "running"); replaces scale and offset
    value_map: dict[int, float] | None = None
    # Modbus registers: the point is bits bit..bit+bit_count-1 (bit 0 least significant)
    bit: Annotated[int, Field(ge=0, le=31)] | None = None
    bit_count: Annotated[int, Field(ge=1, le=32)] | None = None

    @field_validator("role")
    @classmethod
    def _known_role(cls, role: str, info: ValidationInfo) -> str:
        """With the map's kind in the context (`parse_point_map`), a misspelt role is reported
        with the other field errors, not only once every point is valid."""
        kind = info.context.get("kind") if isinstance(info.context, dict) else None
        if isinstance(kind, DeviceKind):
            problem = unknown_role(KINDS[kind], role)
            if problem is not None:
                raise ValueError(problem)
        return role

    @field_validator("value_map", mode="before")
    @classmethod
    def _parse_value_map(cls, raw: Any, info: ValidationInfo) -> Any:
        """TOML keys are strings ("0x0010", "16"); values are numbers or the role's names."""
        if not isinstance(raw, dict):
            return raw
        role = info.data.get("role")
        parsed: dict[int, float] = {}
        for key, value in raw.items():
            try:
                code = key if isinstance(key, int) else int(str(key), 0)
            except ValueError:
                raise ValueError(f"value_map key '{key}' is not an integer") from None
            if isinstance(value, str):
                if not isinstance(role, str):
                    raise ValueError(f"value_map value '{value}' needs a valid role")
                parsed[code] = float(value_label(role, value))
            elif isinstance(value, int | float) and not isinstance(value, bool):
                parsed[code] = float(value)
            else:
                raise ValueError(f"value_map value {value!r} for key '{key}' is not a number")
        return parsed

    @property
    def bit_width(self) -> int | None:
        """Bits of the field, None unless the point is a bit field."""
        if self.bit is None:
            return None
        return self.bit_count or 1

    @model_validator(mode="after")
    def _check(self) -> Self:
        """Every problem of the point, not just the first."""
        problems: list[str] = []
        if self.bit_count is not None and self.bit is None:
            problems.append("'bit_count' needs 'bit' (the field's lowest bit)")
        if self.bit is not None:
            problems.extend(self._bit_field_problems())
        if self.value_map is not None:
            problems.extend(self._value_map_problems())
        problems.extend(self._range_problems())
        if self.scale == 0:
            problems.append("scale must not be zero")
        if self.address is not None and self.address + self.data_type.register_count > 65536:
            problems.append(
                f"address {self.address} + {self.data_type.register_count} register(s) of a "
                f"{self.data_type.value} runs past the register space (last address 65535)"
            )
        report(problems)
        return self

    def _bit_field_problems(self) -> list[str]:
        problems: list[str] = []
        width = self.bit_width or 1
        if self.data_type not in BIT_FIELD_TYPES:
            problems.append(
                f"a bit field needs an unsigned register type (uint16, uint32), "
                f"not {self.data_type.value}"
            )
            return problems
        if self.node_id is not None or self.table in (ModbusTable.COIL, ModbusTable.DISCRETE):
            problems.append("a bit field is part of a Modbus holding or input register")
        register_bits = 16 * self.data_type.register_count
        if (self.bit or 0) + width > register_bits:
            problems.append(
                f"bits {self.bit}..{(self.bit or 0) + width - 1} do not fit a "
                f"{register_bits}-bit {self.data_type.value}"
            )
        if self.writable:
            # writing a field would overwrite the other bits of its register
            problems.append("a bit field cannot be writable")
        return problems

    def _value_map_problems(self) -> list[str]:
        value_map = self.value_map or {}
        if self.data_type not in CODE_TYPES:
            return [
                f"a value map needs an integer type (int16, uint16, int32, uint32), "
                f"not {self.data_type.value}"
            ]
        if not value_map:
            return ["value_map is empty"]
        problems: list[str] = []
        if self.scale != 1.0 or self.offset != 0.0:
            problems.append("a value map replaces scale and offset; give one or the other")
        width = self.bit_width
        low, high = (0, 2**width - 1) if width is not None else INTEGER_RANGES[self.data_type]
        what = f"a {width}-bit field" if width is not None else self.data_type.value
        for code in value_map:
            if not low <= code <= high:
                problems.append(f"value_map key {code} is outside {what} [{low}, {high}]")
        if self.writable and self.safe_default not in value_map.values():
            problems.append(f"safe_default {self.safe_default} is not a value of the value_map")
        return problems

    def _range_problems(self) -> list[str]:
        """A writable point's range, and any point's range given, fit its data type: a write
        outside it would wrap (a uint16 of -5 is 65531) or be refused by the device."""
        problems: list[str] = []
        if self.writable:
            if self.min is None or self.max is None:
                problems.append("a writable point needs 'min' and 'max'")
            if self.safe_default is None:
                problems.append("a writable point needs 'safe_default' (written on hand-back)")
        if self.min is not None and self.max is not None and self.min > self.max:
            problems.append(f"min {self.min} is above max {self.max}")
        elif (
            self.writable
            and self.min is not None
            and self.max is not None
            and self.safe_default is not None
            and not self.min <= self.safe_default <= self.max
        ):
            problems.append(f"safe_default {self.safe_default} is outside [min, max]")
        problems.extend(self._unit_problems())
        raw_range = RAW_RANGES.get(self.data_type)
        if raw_range is None or self.value_map is not None or self.scale == 0:
            return problems
        what = "write limit" if self.writable else "limit"
        for limit in (self.min, self.max):
            if limit is None:
                continue
            raw = (limit - self.offset) / self.scale
            if not raw_range[0] <= raw <= raw_range[1]:
                problems.append(
                    f"{what} {limit:g} is raw {raw:g}, outside a "
                    f"{self.data_type.value} [{raw_range[0]:g}, {raw_range[1]:g}]"
                )
        return problems

    def _unit_problems(self) -> list[str]:
        """A limit the point's unit cannot mean: a negative power, energy, flow or time, a share
        outside 0..100 %, a temperature outside what any plant meets. A plausibility check with
        such a limit passes anything, and a write limit lets the controller command nonsense."""
        bounds = UNIT_LIMITS.get(self.unit)
        if bounds is None:
            return []
        low, high = bounds
        problems: list[str] = []
        for name, limit in (
            ("min", self.min),
            ("max", self.max),
            ("safe_default", self.safe_default),
        ):
            if limit is not None and not low <= limit <= high:
                problems.append(
                    f"{name} {limit:g} {self.unit} is outside {low:g}..{high:g} {self.unit}"
                )
        return problems


class ModbusOptions(StrictModel):
    word_order: Literal["big", "little"] = "big"
    max_registers_per_read: Annotated[int, Field(ge=1, le=125)] = 100
    max_gap_registers: Annotated[int, Field(ge=0, le=64)] = 8  # read across holes this small
    # Poll the command (writable) registers too. Off: the controller never reads its own
    # commands back (it writes changes at once and every command again each minute), so
    # reading them would only load the device, and a map with commands in their own table
    # costs one request per device and poll more.
    read_commands: bool = False


class OpcUaOptions(StrictModel):
    namespace_uri: str = "urn:hpctl:plant"


class DeviceInfo(StrictModel):
    kind: DeviceKind
    protocol: Literal["modbus", "opcua"]
    vendor: str = ""
    model: str = ""
    description: str = ""


class PointMap(StrictModel):
    """A device type: its protocol options and its points."""

    device: DeviceInfo
    modbus: ModbusOptions | None = None
    opcua: OpcUaOptions | None = None
    points: list[Point]
    source: str = "<memory>"  # file the map was read from, for error messages

    @model_validator(mode="after")
    def _check_points(self) -> Self:
        """Every problem of the map, not just the first."""
        problems: list[str] = []
        names = [p.name for p in self.points]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            problems.append(f"duplicate point names: {', '.join(duplicates)}")
        if self.device.protocol == "modbus":
            problems.extend(self._modbus_problems())
        else:
            problems.extend(
                f"point '{point.name}': an OPC UA point needs 'node_id'"
                for point in self.points
                if not point.node_id
            )
        problems.extend(self._role_problems(KINDS[self.device.kind]))
        report(problems)
        return self

    def _role_problems(self, spec: KindSpec) -> list[str]:
        """Every point's role is one the kind has, written where the kind writes it; the
        kind's required roles are all there, and indexed roles count 1..N once each."""
        kind = spec.kind.value
        problems: list[str] = []
        seen: dict[tuple[str, int | None], str] = {}
        for point in self.points:
            where = f"point '{point.name}'"
            role = point.role
            problem = unknown_role(spec, role)
            if problem is not None:
                problems.append(f"{where}: {problem}")
                continue
            if role in spec.writable and not point.writable:
                problems.append(
                    f"{where}: role '{role}' is a command of a {kind} and must be writable "
                    "(writable = true, with min, max and safe_default)"
                )
            if point.writable and role not in spec.writable:
                problems.append(f"{where}: role '{role}' of a {kind} is read-only")
            indexed = role in spec.indexed
            if indexed != (point.index is not None):
                need = "needs an 'index'" if indexed else "takes no 'index'"
                problems.append(f"{where}: role '{role}' {need}")
            key = (role, point.index)
            if key in seen:
                problems.append(f"{where}: role '{role}' is already point '{seen[key]}'")
                continue
            seen[key] = point.name
        missing = sorted(spec.required - {role for role, _ in seen})
        if missing:
            problems.append(f"a {kind} map needs role(s): {', '.join(missing)}")
        for role in sorted(spec.indexed):
            indexes = sorted(index for found, index in seen if found == role and index)
            if indexes and indexes != list(range(1, len(indexes) + 1)):
                problems.append(
                    f"role '{role}' needs indexes 1..{len(indexes)} once each "
                    f"(bottom to top); the map has {indexes}"
                )
        return problems

    def _modbus_problems(self) -> list[str]:
        problems: list[str] = []
        used: dict[tuple[ModbusTable, int], str] = {}
        for point in self.points:
            where = f"point '{point.name}'"
            if point.address is None or point.table is None:
                problems.append(f"{where}: a Modbus point needs 'address' and 'table'")
                continue
            bit_table = point.table in (ModbusTable.COIL, ModbusTable.DISCRETE)
            if bit_table and point.data_type is not DataType.BOOL:
                problems.append(f"{where}: {point.table.value} points must be 'bool'")
            if point.writable and point.table in (ModbusTable.INPUT, ModbusTable.DISCRETE):
                problems.append(f"{where}: {point.table.value} registers cannot be written")
            width = 1 if bit_table else point.data_type.register_count
            for offset in range(width):
                key = (point.table, point.address + offset)
                try:
                    shared = key not in used or self._bits_share(self.point(used[key]), point)
                except ValueError as exc:  # bit fields of one register that overlap
                    problems.append(str(exc))
                    break
                if not shared:
                    problems.append(
                        f"{where} overlaps point '{used[key]}' at {point.table.value} "
                        f"address {point.address + offset}"
                    )
                    break
                used[key] = point.name
        return problems

    def _bits_share(self, first: Point, second: Point) -> bool:
        """Two points may share a register only as disjoint bit fields of the same word."""
        if first.bit is None or second.bit is None:
            return False
        if (first.address, first.data_type) != (second.address, second.data_type):
            return False
        for point in self.points:
            if point is second or point.bit is None or point.address != second.address:
                continue
            if point.table is not second.table:
                continue
            if _bit_mask(point) & _bit_mask(second):
                raise ValueError(
                    f"point '{second.name}': bits overlap point '{point.name}' at "
                    f"{second.table.value if second.table else ''} address {second.address}"
                )
        return True

    def point(self, name: str) -> Point:
        point = self._index.by_name.get(name)
        if point is None:
            raise KeyError(f"{self.source}: no point named '{name}'")
        return point

    def by_role(self, role: str) -> list[Point]:
        """Points with this role, ordered by index (tank layers bottom to top)."""
        return list(self._index.by_role.get(role, ()))

    def role_points(self, role: str) -> tuple[Point, ...]:
        """`by_role` without the copy, for lookups made every cycle."""
        return self._index.by_role.get(role, ())

    def role_point(self, role: str, index: int | None = None) -> Point | None:
        """The point with this role (and index); without `index` the lowest index; None if the
        map has none."""
        if index is None:
            points = self._index.by_role.get(role)
            return points[0] if points else None
        return self._index.by_role_index.get((role, index))

    @property
    def _index(self) -> _PointIndex:
        """Points by name and by role, built once: the cycle asks for them many times a cycle.
        Rebuilt if `points` is another list (a `model_copy(update=...)` copies the cache)."""
        index = self._point_index
        if index.points is not self.points:
            index = _PointIndex.of(self.points)
            self.__dict__["_point_index"] = index
        return index

    @cached_property
    def _point_index(self) -> _PointIndex:
        return _PointIndex.of(self.points)

    def word_order_of(self, point: Point) -> Literal["big", "little"]:
        if point.word_order is not None:
            return point.word_order
        return self.modbus.word_order if self.modbus else "big"


class _PointIndex:
    """A map's points by name and by role (each role's points ordered by index)."""

    __slots__ = ("by_name", "by_role", "by_role_index", "points")

    def __init__(
        self, points: list[Point], by_name: dict[str, Point], by_role: dict[str, tuple[Point, ...]]
    ) -> None:
        self.points = points
        self.by_name = by_name
        self.by_role = by_role
        self.by_role_index: dict[tuple[str, int | None], Point] = {}
        for role, found in by_role.items():
            for point in found:
                self.by_role_index.setdefault((role, point.index), point)

    @classmethod
    def of(cls, points: list[Point]) -> _PointIndex:
        by_name: dict[str, Point] = {}
        for point in points:
            by_name.setdefault(point.name, point)  # duplicates are refused at validation
        roles: dict[str, list[Point]] = {}
        for point in points:
            roles.setdefault(point.role, []).append(point)
        by_role = {
            role: tuple(sorted(found, key=lambda p: p.index if p.index is not None else 0))
            for role, found in roles.items()
        }
        return cls(points, by_name, by_role)


def unknown_role(spec: KindSpec, role: str) -> str | None:
    """Why `role` is not one of the kind's, with the closest one; None if it is."""
    if role in spec.roles:
        return None
    near = closest_role(spec, role)
    hint = f" (did you mean '{near}'?)" if near else ""
    return (
        f"unknown role '{role}' for a {spec.kind.value}{hint}; "
        f"its roles: {', '.join(sorted(spec.roles))}"
    )


def _bit_mask(point: Point) -> int:
    return ((1 << (point.bit_width or 0)) - 1) << (point.bit or 0)


def parse_point_map(data: dict[str, object], source: str = "<memory>") -> PointMap:
    """Validate a point map from a parsed TOML document; errors name `source` and the field."""
    try:
        device = data.get("device")
        kind = device.get("kind") if isinstance(device, dict) else None
        context: dict[str, DeviceKind] = {}
        if isinstance(kind, str) and kind in DeviceKind._value2member_map_:
            context["kind"] = DeviceKind(kind)
        return PointMap.model_validate({**data, "source": source}, context=context)
    except ValidationError as exc:
        raise PointMapError(
            error_message(f"{source}: invalid point map", exc, data, by_name={"points": "point"})
        ) from None


def load_point_map(path: Path) -> PointMap:
    """Read and validate a point-map TOML file."""
    return parse_point_map(read_toml(path, PointMapError, "point map"), str(path))
