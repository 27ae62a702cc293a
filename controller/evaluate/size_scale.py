"""A plant resized for a sizing study: heat-pump capacity, tank volume, boiler rating.

Pure: a new `Plant` from the old one, validated as if its file had been written that way.

- Heat pumps: the total is split over `ceil(total / largest unit)` equal units, so a unit is never
  bigger than the largest the plant already has. Units are cloned in turn from the plant's own
  (names, addresses and isolation valves added as needed). Each keeps its protections as they
  are (minimum run and off time, maximum starts per hour, minimum load fraction, start-up delay,
  temperature limits); the ramp and the start cost scale with the rating, so a unit takes as long
  to ramp from minimum to full load and a start wears it by the same equivalent operating hours.
- Tanks: every tank by the same volume factor, the shape kept: height by the cube root and the
  loss coefficient (UA, proportional to the surface) by the power 2/3 of the factor. A tank of
  0 m3 is not a plant the controller can run (it dispatches the tank's state of charge): 0 m3
  stands for "no storage tank", modelled as a hydraulic buffer of `BUFFER_M3` that the cost of
  the heat pumps is taken to include.
- Boiler: resized; 0 MW removes it.
"""

from __future__ import annotations

import math
import re
from typing import Any

from pydantic import ValidationError

from controller.config import ConfigError, Plant
from drivers.schema import error_message
from drivers.site import SiteConfig

BUFFER_M3 = 200.0  # "no tank": a buffer vessel, a few minutes of full heat-pump flow


def heat_pump_units(plant: Plant, heat_pump_kw: float) -> list[float]:
    """The unit ratings (kW) `heat_pump_kw` is split into."""
    if not heat_pump_kw > 0:
        raise ConfigError(f"heat-pump capacity {heat_pump_kw:g} kW must be positive")
    largest_kw = max(unit.heat_max_kw for unit in plant.site.units)
    count = max(1, math.ceil(heat_pump_kw / largest_kw - 1e-9))
    return [heat_pump_kw / count] * count


def tank_volume_m3(tank_m3: float) -> float:
    """The volume replayed for a requested tank volume (0: the buffer vessel)."""
    if tank_m3 < 0 or not math.isfinite(tank_m3):
        raise ConfigError(f"tank volume {tank_m3:g} m3 must be 0 or more")
    return tank_m3 if tank_m3 > 0 else BUFFER_M3


def _free_ids(site: dict[str, Any]) -> dict[str, set[int]]:
    used: dict[str, set[int]] = {}
    for table in ("units", "valves", "tanks", "heat_meters"):
        for device in site.get(table) or []:
            used.setdefault(device["connection"], set()).add(int(device["device_id"]))
    for single in ("boiler", "plant_io"):
        device = site.get(single)
        if device:
            used.setdefault(device["connection"], set()).add(int(device["device_id"]))
    return used


def _next_id(used: dict[str, set[int]], connection: str) -> int:
    taken = used.setdefault(connection, set())
    for device_id in range(1, 248):
        if device_id not in taken:
            taken.add(device_id)
            return device_id
    raise ConfigError(f"connection '{connection}' has no free device id (1..247) for another unit")


def _unique(stem: str, index: int, names: set[str]) -> str:
    number = index
    while f"{stem}{number}" in names:
        number += 1
    name = f"{stem}{number}"
    names.add(name)
    return name


def _scale_units(
    site: dict[str, Any], heat_pump_kw: list[float], maps: dict[str, str]
) -> dict[str, Any]:
    """`maps`: device name -> the name of the device whose point map it uses (filled in)."""
    templates: list[dict[str, Any]] = site["units"]
    valves: dict[str, dict[str, Any]] = {valve["name"]: valve for valve in site.get("valves", [])}
    used = _free_ids(site)
    names = {device["name"] for table in ("units", "valves") for device in site.get(table, [])}
    units: list[dict[str, Any]] = []
    kept_valves: dict[str, dict[str, Any]] = {
        name: valve
        for name, valve in valves.items()
        if not any(unit.get("isolation_valve") == name for unit in templates)
    }
    for index, rating_kw in enumerate(heat_pump_kw):
        template = templates[index % len(templates)]
        unit = dict(template)
        if index >= len(templates):
            stem = re.sub(r"\d+$", "", template["name"]) or "hp"
            unit["name"] = _unique(stem, index + 1, names)
            unit["device_id"] = _next_id(used, unit["connection"])
            unit["node_prefix"] = ""
            valve_name = template.get("isolation_valve")
            if valve_name is not None:
                valve = dict(valves[valve_name])
                wanted = valve_name.replace(template["name"], unit["name"])
                valve["name"] = wanted if wanted not in names else _unique(f"{wanted}_", 1, names)
                names.add(valve["name"])
                valve["device_id"] = _next_id(used, valve["connection"])
                valve["node_prefix"] = ""
                unit["isolation_valve"] = valve["name"]
                maps[valve["name"]] = valve_name
                kept_valves[valve["name"]] = valve
        elif unit.get("isolation_valve") is not None:
            kept_valves[unit["isolation_valve"]] = valves[unit["isolation_valve"]]
        ratio = rating_kw / float(template["heat_max_kw"])
        unit["heat_max_kw"] = rating_kw
        unit["ramp_kw_per_s"] = float(template["ramp_kw_per_s"]) * ratio
        unit["start_cost_eur"] = float(template["start_cost_eur"]) * ratio
        maps[unit["name"]] = template["name"]
        units.append(unit)
    unit_names = {unit["name"] for unit in units}
    site["units"] = units
    site["valves"] = list(kept_valves.values())
    site["heat_meters"] = [
        meter
        for meter in site.get("heat_meters", [])
        if meter["measures"] == "network" or meter["measures"] in unit_names
    ]
    return site


_UNIT_KEYS_RESIZED = frozenset(
    {
        "name",
        "connection",
        "device_id",
        "node_prefix",
        "isolation_valve",
        "heat_max_kw",
        "ramp_kw_per_s",
        "start_cost_eur",
    }
)


def scale_plant(
    plant: Plant, heat_pump_kw: float, tank_m3: float, boiler_kw: float | None = None
) -> Plant:
    """`plant` with `heat_pump_kw` of heat pumps, `tank_m3` of storage in all (0: no tank, see
    `BUFFER_M3`) and a boiler of `boiler_kw` (None: as it is; 0: none)."""
    site: dict[str, Any] = plant.site.model_dump()
    # A dump writes every default, but some unit fields are judged by whether the plant file
    # gave them (the legacy COP efficiency, the defrost pair): keep only what the file set and
    # what the resizing reads or writes.
    site["units"] = [
        {
            key: value
            for key, value in unit.items()
            if key in spec.model_fields_set or key in _UNIT_KEYS_RESIZED
        }
        for unit, spec in zip(site["units"], plant.site.units, strict=True)
    ]
    maps: dict[str, str] = {}
    _scale_units(site, heat_pump_units(plant, heat_pump_kw), maps)
    volume_m3 = tank_volume_m3(tank_m3)
    total_m3 = sum(tank.volume_m3 for tank in plant.site.tanks)
    factor = volume_m3 / total_m3
    for tank in site["tanks"]:
        tank["volume_m3"] = float(tank["volume_m3"]) * factor
        tank["height_m"] = float(tank["height_m"]) * factor ** (1.0 / 3.0)
        tank["loss_w_per_k"] = float(tank["loss_w_per_k"]) * factor ** (2.0 / 3.0)
    if boiler_kw is not None:
        if boiler_kw < 0 or not math.isfinite(boiler_kw):
            raise ConfigError(f"boiler rating {boiler_kw:g} kW must be 0 or more")
        if boiler_kw == 0:
            site["boiler"] = None
        elif site.get("boiler") is None:
            raise ConfigError(
                f"{plant.path}: the plant has no [boiler] to resize to {boiler_kw / 1000:g} MW"
            )
        else:
            site["boiler"]["heat_max_kw"] = boiler_kw
    try:
        scaled = SiteConfig.model_validate(site)
    except ValidationError as exc:
        title = (
            f"{plant.path}: resized to {heat_pump_kw / 1000:g} MW heat pumps, {tank_m3:g} m3 "
            "tank: invalid plant"
        )
        raise ConfigError(error_message(title, exc, site, ())) from None
    point_maps = {
        device.name: plant.maps[maps.get(device.name, device.name)] for device in scaled.devices()
    }
    return Plant(path=plant.path, site=scaled, control=plant.control, maps=point_maps)
