"""`hpctl sim`: the simulated plant on its own, serving Modbus TCP and OPC UA on its ports.

Physics advance by `speed` x real time in steps of the plant's `[sim] step_s`; after each step
the servers show the new state. Outdoor temperature, demand and source temperature come from a
scenario when one is given (the run ends where the scenario ends), otherwise the outdoor
temperature is the constant `[sim] outdoor_temp_c` and the site's own models do the rest.

Faults come from a schedule (`faults`, see sim_plant.fault_schedule) and, with `control_port`,
from the HTTP endpoint of sim_plant.control_server; both act at step boundaries of simulated
time, except that a fault injected over HTTP takes effect (and shows) at once.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Annotated, TextIO

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from drivers.clock import Clock
from drivers.scenario import Scenario, load_scenario
from drivers.site import SiteConfig, SiteError, load_site
from sim_plant.control_server import FaultControlServer
from sim_plant.fault_book import FaultBook
from sim_plant.fault_schedule import load_fault_schedule
from sim_plant.physics import Boundary, PlantModel
from sim_plant.servers import PlantServers

# A process that stalled (suspended laptop, debugger) this far behind starts afresh instead of
# bursting through the missed steps.
MAX_LAG_S = 1.0


class SimSettings(BaseModel):
    """The plant file's `[sim]` table. Keys other parts of the product read are ignored here."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    step_s: Annotated[float, Field(gt=0)] = 1.0
    outdoor_temp_c: float = 0.0
    initial_soc: Annotated[float, Field(ge=0, le=1)] = 0.5


def sim_settings(site: SiteConfig, source: str) -> SimSettings:
    """Validate the `[sim]` table; errors are SiteErrors naming the file and the key."""
    try:
        return SimSettings.model_validate(site.sim)
    except ValidationError as exc:
        reasons = [
            f"  sim.{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        ]
        raise SiteError("\n".join([f"{source}: invalid [sim] table", *reasons])) from None


def server_ports(
    site: SiteConfig, modbus_port: int | None, opcua_port: int | None
) -> dict[str, int]:
    """Ports per connection: the file's, or from an override counting up per protocol.

    With `--modbus-port N` the plant's first Modbus connection gets N, the next N + 1, and so
    on in file order; the same for OPC UA. Port 0 means a free port.
    """
    overrides = {"modbus": modbus_port, "opcua": opcua_port}
    used = {"modbus": 0, "opcua": 0}
    ports: dict[str, int] = {}
    for name, connection in site.connections.items():
        base = overrides[connection.protocol]
        if base is None:
            ports[name] = connection.port
        else:
            ports[name] = base + used[connection.protocol] if base else 0
            used[connection.protocol] += 1
    return ports


def scenario_boundary(
    scenario: Scenario, outdoor_default_c: float
) -> Callable[[datetime], Boundary]:
    """Boundary conditions from a scenario; a missing outdoor temperature uses the default."""

    def boundary_at(now_utc: datetime) -> Boundary:
        row = scenario.at(now_utc)
        outdoor_c = row.outdoor_temp_c
        return Boundary(
            now_utc=now_utc,
            outdoor_temp_c=outdoor_c if outdoor_c is not None else outdoor_default_c,
            heat_demand_kw=row.heat_demand_kw,
            source_temp_c=row.source_temp_c,
            it_load_kw=row.it_load_kw,
        )

    return boundary_at


def constant_boundary(outdoor_temp_c: float) -> Callable[[datetime], Boundary]:
    """A constant outdoor temperature; demand and source from the site's own models."""
    return lambda now_utc: Boundary(now_utc=now_utc, outdoor_temp_c=outdoor_temp_c)


async def run_sim(
    plant_path: Path,
    modbus_port: int | None,
    opcua_port: int | None,
    speed: float,
    scenario: Path | None,
    start: datetime | None,
    clock: Clock,
    stop: asyncio.Event | None = None,
    *,
    host: str = "127.0.0.1",
    out: TextIO | None = None,
    faults: Path | None = None,
    control_port: int | None = None,
) -> None:
    """Serve the plant in `plant_path` until `stop` is set (or the scenario ends, or cancelled).

    `faults`: a fault schedule file; `control_port`: serve the fault control endpoint on
    127.0.0.1 at this port (0: a free one; None: no endpoint).
    """
    if not speed > 0:
        raise ValueError(f"speed must be positive, got {speed}")
    site = load_site(plant_path)
    settings = sim_settings(site, str(plant_path))
    maps = site.load_point_maps()
    loaded = load_scenario(scenario) if scenario is not None else None
    start_utc = start or (loaded.start_utc if loaded is not None else clock.now())
    if loaded is not None:
        boundary_at = scenario_boundary(loaded, settings.outdoor_temp_c)
        end_utc = loaded.end_utc
        boundary_at(start_utc)  # refuse a start outside the scenario before serving anything
    else:
        boundary_at = constant_boundary(settings.outdoor_temp_c)
        end_utc = None
    model = PlantModel(site, start_utc, settings.initial_soc)
    book = FaultBook(model)
    schedule = load_fault_schedule(faults, start_utc) if faults is not None else []
    book.schedule(schedule, str(faults))
    book.advance()  # entries at 0 s are there before the first client connects
    ports = server_ports(site, modbus_port, opcua_port)
    async with AsyncExitStack() as stack:
        servers = await stack.enter_async_context(
            PlantServers(site, maps, model, host, ports, now=lambda: model.now_utc)
        )
        control = None
        if control_port is not None:
            control = await stack.enter_async_context(
                FaultControlServer(book, servers.sync, control_port)
            )
        say = partial(print, file=out or sys.stdout, flush=True)
        say(_banner(site, servers.endpoints(), speed, settings.step_s, start_utc))
        if faults is not None:
            say(f"hpctl sim: fault schedule {faults}: {len(schedule)} entries")
        if control is not None:
            say(
                f"hpctl sim: fault control on {control.url} "
                "(GET /state, GET|POST /faults, DELETE /faults/ID, POST /faults/clear)"
            )
        interval_s = settings.step_s / speed
        origin_s = clock.monotonic_s()
        steps = 0
        while end_utc is None or model.now_utc + timedelta(seconds=settings.step_s) <= end_utc:
            steps += 1
            wait_s = origin_s + steps * interval_s - clock.monotonic_s()
            if wait_s < -MAX_LAG_S:
                origin_s, steps = clock.monotonic_s(), 0
            if await _stopped_while_waiting(clock, wait_s, stop):
                return
            model.step(settings.step_s, boundary_at(model.now_utc))
            book.advance()
            await servers.sync()
        print(f"hpctl sim: the scenario ends at {end_utc}; stopping", file=out or sys.stdout)


async def _stopped_while_waiting(clock: Clock, seconds: float, stop: asyncio.Event | None) -> bool:
    """Sleep on the clock; True as soon as `stop` is set."""
    if stop is None:
        await clock.sleep(seconds)
        return False
    if stop.is_set():
        return True
    sleeper = asyncio.ensure_future(clock.sleep(seconds))
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait((sleeper, stopper), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sleeper, stopper):
            task.cancel()
    return stop.is_set()


def _banner(
    site: SiteConfig, endpoints: Mapping[str, str], speed: float, step_s: float, start: datetime
) -> str:
    served = ", ".join(
        f"{site.connections[name].protocol} '{name}' on {where}"
        for name, where in endpoints.items()
    )
    return (
        f"hpctl sim: plant '{site.plant.name}' serving {served}; "
        f"{speed:g}x real time in {step_s:g} s steps from {start:%Y-%m-%d %H:%M} UTC"
    )
