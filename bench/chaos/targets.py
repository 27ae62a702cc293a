"""The four fuzz targets: each a strategy of bad inputs, the public loader it feeds, the
loader's documented error, and the check of what the loader accepted.

- plant configs: `controller.config.load_plant` (what `hpctl validate` and `hpctl run` call),
  documented error `ConfigError`;
- point maps: `drivers.pointmap.load_point_map`, `PointMapError`;
- scenario CSV files: `drivers.scenario.load_scenario` and then the evaluator's
  `controller.evaluate.data.load_evaluation_data`, `ScenarioError`;
- MQTT payloads: `parse_request`, `request_id_of`, `parse_prices`, `parse_carbon`, `parse_fuel`
  of `controller.telemetry.mqtt.messages`, `MessageError`; accepted market updates are fed
  to `controller.telemetry.mqtt.market.MqttMarket` and read back.
"""

from __future__ import annotations

import csv
import json
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from pydantic import BaseModel

from bench.chaos.harness import ROOT, Verdict, inspect
from bench.chaos.mutations import (
    Base,
    CsvBase,
    FuzzCase,
    csv_files,
    json_documents,
    raw_payloads,
    toml_documents,
)
from controller.config import ConfigError, load_plant
from controller.evaluate.data import load_evaluation_data
from controller.telemetry.mqtt import messages
from controller.telemetry.mqtt.market import MqttMarket
from drivers.pointmap import PointMapError, load_point_map
from drivers.scenario import ScenarioError, load_scenario
from drivers.site import SiteConfig

PLANTS = ROOT / "deploy" / "plants"
POINTMAPS = ROOT / "deploy" / "pointmaps"
DEMO_SCENARIO = ROOT / "controller" / "scenarios" / "demo_dk1_2024_january.csv"
SCENARIO_ROWS = 48
# the bridge's clock for the market checks: any ordinary moment will do
RECEIVED_UTC = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Target:
    name: str
    strategy: st.SearchStrategy[FuzzCase]
    check: Callable[[FuzzCase], Verdict]
    rejected: tuple[type[BaseException], ...]


def build_targets(workdir: Path) -> list[Target]:
    """The four targets; loaders that read files write each input under `workdir`."""
    return [
        plant_target(workdir),
        pointmap_target(workdir),
        scenario_target(workdir),
        mqtt_target(),
    ]


def _toml_bases(directory: Path, arrays: tuple[str, ...]) -> list[Base]:
    return [
        Base.of(path.name, tomllib.loads(path.read_text(encoding="utf-8")), arrays)
        for path in sorted(directory.glob("*.toml"))
    ]


# --- plant configs --------------------------------------------------------------------------


def plant_target(workdir: Path) -> Target:
    # the shipped files name their maps as ../pointmaps/...: keep that layout
    (workdir / "plants").mkdir(parents=True, exist_ok=True)
    maps = workdir / "pointmaps"
    if not maps.exists():
        maps.symlink_to(POINTMAPS, target_is_directory=True)
    path = workdir / "plants" / "fuzz.toml"
    bases = _toml_bases(PLANTS, ("units", "valves", "tanks", "heat_meters"))
    return Target(
        "plant_configs",
        toml_documents(bases),
        lambda case: check_plant(case, path),
        (ConfigError,),
    )


def check_plant(case: FuzzCase, path: Path) -> Verdict:
    path.write_bytes(case.payload)
    plant = load_plant(path)
    # `sim` is the simulator's table, validated by sim_plant when a simulation starts;
    # `control` is checked in its validated form, plant.control
    site = inspect(plant.site, "site", skip=frozenset({"sim", "control"}))
    if site.outcome != "accepted":
        return site
    for tank in plant.site.tanks:
        derived = inspect({"capacity_kwh": tank.capacity_kwh}, "site.tanks[]")
        if derived.outcome != "accepted":
            return derived
    for unit in plant.site.units:
        derived = inspect({"heat_min_kw": unit.heat_min_kw}, "site.units[]")
        if derived.outcome != "accepted":
            return derived
    control = inspect(plant.control, "control")
    if control.outcome != "accepted":
        return control
    return inspect(plant.maps, "maps")


# --- point maps -----------------------------------------------------------------------------


def pointmap_target(workdir: Path) -> Target:
    path = workdir / "pointmap.toml"
    return Target(
        "point_maps",
        toml_documents(_toml_bases(POINTMAPS, ("points",))),
        lambda case: check_pointmap(case, path),
        (PointMapError,),
    )


def check_pointmap(case: FuzzCase, path: Path) -> Verdict:
    path.write_bytes(case.payload)
    return inspect(load_point_map(path), "map")


# --- scenario files -------------------------------------------------------------------------


def scenario_bases() -> list[CsvBase]:
    """The demo scenario's first two days as it is (4 columns), and with every optional
    column the readers know (demand, source temperature, fuel price) added."""
    with DEMO_SCENARIO.open(newline="", encoding="utf-8") as handle:
        lines = list(csv.reader(handle))
    header, rows = tuple(lines[0]), [tuple(r) for r in lines[1 : SCENARIO_ROWS + 1]]
    full_header = (*header, "heat_demand_kw", "source_temp_c", "fuel_price_eur_per_mwh")
    full_rows = [(*row, f"{9000 + 40 * i}", "7.5", "41.2") for i, row in enumerate(rows)]
    return [
        CsvBase("demo_dk1 (4 columns)", header, tuple(rows)),
        CsvBase("demo_dk1 (all 7 columns)", full_header, tuple(full_rows)),
    ]


def scenario_target(workdir: Path) -> Target:
    path = workdir / "scenario.csv"
    site = load_plant(PLANTS / "river_20mw.toml").site
    return Target(
        "scenario_files",
        csv_files(scenario_bases()),
        lambda case: check_scenario(case, path, site),
        (ScenarioError,),
    )


def check_scenario(case: FuzzCase, path: Path, site: SiteConfig) -> Verdict:
    path.write_bytes(case.payload)
    scenario = load_scenario(path)
    verdict = inspect(scenario.rows, "scenario.rows")
    if verdict.outcome != "accepted":
        return verdict
    data = load_evaluation_data(path, site)
    return inspect(data, "evaluation_data")


# --- MQTT messages --------------------------------------------------------------------------

_HOUR = "2026-12-04T{:02d}:00:00Z"
MESSAGE_TEMPLATES: dict[str, list[dict[str, Any]]] = {
    "request": [
        {
            "id": "r1",
            "priority": 50,
            "operator": "ops",
            "kind": "setpoint",
            "unit": "hp1",
            "heat_kw": 500.0,
            "expires_utc": "2026-12-03T18:00:00Z",
        },
        {
            "id": "r2",
            "priority": 80,
            "kind": "manual",
            "unit": "hp2",
            "on": True,
            "heat_kw": 4000.0,
            "expires_utc": "2026-12-03T18:00:00+01:00",
        },
        {
            "id": "r3",
            "priority": 90,
            "kind": "curtail",
            "max_power_kw": 2500.0,
            "expires_utc": "2026-12-03T13:00:00Z",
        },
        {
            "id": "r4",
            "priority": 10,
            "kind": "boost",
            "min_heat_kw": 8000.0,
            "expires_utc": "2026-12-03T20:00:00Z",
        },
        {"id": "r5", "priority": 10, "kind": "auto", "unit": "hp1"},
        {"id": "r6", "priority": 95, "kind": "cancel", "target_id": "r1"},
    ],
    "prices": [
        {
            "published_utc": "2026-12-03T12:45:00Z",
            "prices": [
                {"start_utc": _HOUR.format(h), "price_eur_per_mwh": 60.0 + h} for h in range(6)
            ],
        },
        {"prices": [{"start_utc": "2026-12-04T00:15:00Z", "price_eur_per_mwh": -12.5}]},
    ],
    "carbon": [
        {
            "values": [
                {"start_utc": f"2026-12-03T{h:02d}:00:00Z", "carbon_g_per_kwh": 100.0 + h}
                for h in range(4)
            ]
        }
    ],
    "fuel": [
        {"valid_from_utc": "2026-12-03T00:00:00Z", "fuel_price_eur_per_mwh": 41.5},
        {"fuel_price_eur_per_mwh": 45.0},
    ],
}
PARSERS: dict[str, Callable[[bytes], BaseModel]] = {
    "request": messages.parse_request,
    "prices": messages.parse_prices,
    "carbon": messages.parse_carbon,
    "fuel": messages.parse_fuel,
}


def _message_bases() -> list[Base]:
    return [
        Base.of(f"{kind}#{i}", template, ("prices", "values"))
        for kind, templates in MESSAGE_TEMPLATES.items()
        for i, template in enumerate(templates)
    ]


def mqtt_target() -> Target:
    raw = st.one_of(*(raw_payloads(f"{kind}#raw") for kind in MESSAGE_TEMPLATES))
    oversized = st.sampled_from(list(MESSAGE_TEMPLATES)).map(
        lambda kind: FuzzCase(
            f"{kind}#oversized",
            ("payload over the size limit",),
            json.dumps({"pad": "x" * (messages.MAX_PAYLOAD_BYTES + 10)}).encode(),
        )
    )
    branches = {"templated": json_documents(_message_bases()), "raw": raw, "oversized": oversized}
    # mutated valid messages reach the schema's checks: most of the inputs
    strategy = st.sampled_from(("templated",) * 7 + ("raw", "raw", "oversized")).flatmap(
        branches.__getitem__
    )
    return Target("mqtt_payloads", strategy, check_message, (messages.MessageError,))


def check_message(case: FuzzCase) -> Verdict:
    kind = case.base.partition("#")[0]
    if kind == "request":
        messages.request_id_of(case.payload)  # answers a bad request: must never raise
    message = PARSERS[kind](case.payload)
    verdict = inspect(message, kind)
    if verdict.outcome != "accepted":
        return verdict
    market = MqttMarket()
    if isinstance(message, messages.PriceUpdate):
        market.add_prices(message, RECEIVED_UTC)
        latest = max(p.start_utc for p in message.prices)
        for now in (RECEIVED_UTC, latest, latest + timedelta(hours=1)):
            inspect_market = inspect(market.prices(now), "market.prices")
            if inspect_market.outcome != "accepted":
                return inspect_market
    elif isinstance(message, messages.CarbonUpdate):
        market.add_carbon(message, RECEIVED_UTC)
        for now in (RECEIVED_UTC, max(v.start_utc for v in message.values)):
            inspect_market = inspect(market.carbon(now), "market.carbon")
            if inspect_market.outcome != "accepted":
                return inspect_market
    elif isinstance(message, messages.FuelUpdate):
        market.add_fuel(message, RECEIVED_UTC)
        when = message.valid_from_utc or RECEIVED_UTC
        return inspect(
            {"fuel_price_eur_per_mwh": market.fuel_price(max(when, RECEIVED_UTC))}, "market.fuel"
        )
    return Verdict("accepted")
