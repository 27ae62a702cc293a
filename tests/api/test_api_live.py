"""The HTTP API of a live controller (the code `hpctl run` runs) against the simulated plant,
spoken to over HTTP on 127.0.0.1 as an EMS or a SCADA gateway would."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

from controller.telemetry.audit import AUDIT_FILE, read_audit
from drivers.clock import WallClock
from tests.api.rig import REPO, TOKEN, api_plant, live_api, write_prices

SCHEMA_FILE = REPO / "docs" / "api-openapi.json"


def _expires(minutes: float = 30) -> str:
    return (WallClock().now() + timedelta(minutes=minutes)).isoformat()


def _curtail(request_id: str, priority: int = 70, **changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "id": request_id,
        "kind": "curtail",
        "max_power_kw": 0,
        "priority": priority,
        "operator": "tso",
        "expires_utc": _expires(),
    }
    return body | changes


async def test_state_plan_and_the_served_schema(tmp_path: Path) -> None:
    prices = write_prices(tmp_path / "prices.csv")
    plant = api_plant(tmp_path, policy="planner", market={"price_file": str(prices)})
    async with live_api(plant) as http:
        state = await http.until(
            "/api/v1/state",
            lambda s, b: (
                s == 200 and b["soc"] is not None and all(u["data_good"] for u in b["units"])
            ),
        )
        assert isinstance(state, dict)
        assert state["plant"] == "river_20mw"
        assert [u["name"] for u in state["units"]] == [u.name for u in plant.site.units]
        names = {"off", "starting", "running", "stopping", "tripped"}
        assert all(u["state"] in names for u in state["units"]), state["units"]
        assert state["tanks"][0]["name"] == "tank1"
        assert 0.0 <= state["soc"] <= 1.0
        assert state["read_only"] is False and state["writes_enabled"] is True
        assert state["dispatch"]["policy"] == "planner" and state["dispatch"]["reason"]

        plan = await http.until("/api/v1/plan", lambda s, b: s == 200)
        assert isinstance(plan, dict)
        steps = plan["steps"]
        assert plan["usable"] is True and len(plan["step_start_utc"]) == steps
        assert set(plan["units"]) == {u.name for u in plant.site.units}
        for unit in plan["units"].values():
            assert len(unit["power_kw"]) == len(unit["heat_kw"]) == steps
            # electric power where the unit runs, none where it is off
            for on, heat_kw, power_kw in zip(
                unit["on"], unit["heat_kw"], unit["power_kw"], strict=True
            ):
                assert (power_kw > 0) == on or heat_kw == 0, (on, heat_kw, power_kw)
        for k in range(steps):
            total_kw = sum(u["power_kw"][k] for u in plan["units"].values())
            assert abs(total_kw - plan["grid_power_kw"][k]) < 0.5
        assert len(plan["price_eur_per_mwh"]) == len(plan["carbon_g_per_kwh"]) == steps
        assert min(plan["carbon_g_per_kwh"]) >= 120.0  # the price file's carbon, not a default

        following = await http.until(
            "/api/v1/state", lambda s, b: s == 200 and b["dispatch"]["rung"] == "plan"
        )
        assert "following the newest plan" in following["dispatch"]["reason"]

        status, served = await http.acall("GET", "/openapi.json")
        assert status == 200
        if os.environ.get("HPCTL_WRITE_OPENAPI") == "1":
            SCHEMA_FILE.write_text(json.dumps(served, indent=2, sort_keys=True) + "\n")
        kept = json.loads(SCHEMA_FILE.read_text())
        assert served == kept, (
            f"the served OpenAPI schema differs from {SCHEMA_FILE}: if the change is meant, "
            "regenerate it with HPCTL_WRITE_OPENAPI=1 pytest tests/api/test_api_live.py "
            "-k schema and commit it"
        )
        status, _ = await http.acall("GET", "/docs")  # Swagger UI would load from a CDN
        assert status == 404


async def test_requests_go_through_the_desk_with_token_priority_and_audit(tmp_path: Path) -> None:
    plant = api_plant(tmp_path)
    async with live_api(plant) as http:
        # writes need the token; reads do not
        status, body = await http.acall("POST", "/api/v1/requests", body=_curtail("grid-1"))
        assert status == 401 and "Bearer" in body["detail"]
        status, _ = await http.acall(
            "POST", "/api/v1/requests", body=_curtail("grid-1"), token="not-the-token-at-all"
        )
        assert status == 401
        status, overrides = await http.acall("GET", "/api/v1/overrides")
        assert (status, overrides) == (200, [])

        http.token = TOKEN
        status, answer = await http.acall("POST", "/api/v1/requests", body=_curtail("grid-1"))
        assert status == 200, answer
        assert answer["accepted"] is True and answer["id"] == "grid-1"
        # the same id again: refused by the desk, as over MQTT
        status, answer = await http.acall("POST", "/api/v1/requests", body=_curtail("grid-1"))
        assert status == 409 and "already active" in answer["reason"]

        status, overrides = await http.acall("GET", "/api/v1/overrides")
        assert [o["id"] for o in overrides] == ["grid-1"]
        assert overrides[0]["priority"] == 70 and overrides[0]["max_power_kw"] == 0
        # the cycle applies it: every heat pump's target is off under a 0 kW cap
        state = await http.until(
            "/api/v1/state",
            lambda s, b: (
                s == 200 and b["overrides"] and not any(u["target_on"] for u in b["units"])
            ),
        )
        assert [o["id"] for o in state["overrides"]] == ["grid-1"]

        # bad input: 422 naming the field, and nothing taken
        cases = {
            "max_power_kw": _curtail("bad-1", max_power_kw=-5),
            "expires_utc": {k: v for k, v in _curtail("bad-2").items() if k != "expires_utc"},
            "priority": _curtail("bad-3", priority=101),
            "kind": {"id": "bad-4", "kind": "explode", "priority": 1},
        }
        for field, request in cases.items():
            status, problem = await http.acall("POST", "/api/v1/requests", body=request)
            assert status == 422, (field, problem)
            assert field in problem["detail"], (field, problem)
            assert any(e["field"] == field for e in problem["errors"]), problem
        status, problem = await http.acall("POST", "/api/v1/requests", raw=b"{not json")
        assert status == 422 and problem["detail"]
        manual = {
            "id": "m-1",
            "kind": "manual",
            "unit": "hp9",
            "on": True,
            "priority": 50,
            "expires_utc": _expires(),
        }
        status, answer = await http.acall("POST", "/api/v1/requests", body=manual)
        assert status == 422 and "hp9" in answer["reason"], answer

        # cancel: the priority must reach the request's; an unknown id is 404
        status, answer = await http.acall("DELETE", "/api/v1/overrides/grid-1?priority=10")
        assert status == 409 and "priority 70" in answer["reason"], answer
        status, problem = await http.acall("DELETE", "/api/v1/overrides/grid-1")
        assert status == 422 and "priority" in problem["detail"], problem
        status, answer = await http.acall("DELETE", "/api/v1/overrides/nothing?priority=100")
        assert status == 404, answer
        status, answer = await http.acall(
            "DELETE", "/api/v1/overrides/grid-1?priority=70&operator=desk"
        )
        assert status == 200 and answer["accepted"] is True, answer
        status, overrides = await http.acall("GET", "/api/v1/overrides")
        assert overrides == []

        # expiry: the desk drops a request at its expiry by itself
        short = _curtail("grid-2", expires_utc=_expires(minutes=0.1))
        status, answer = await http.acall("POST", "/api/v1/requests", body=short)
        assert status == 200, answer
        await http.until("/api/v1/overrides", lambda s, b: s == 200 and b == [])

        events = await http.until(
            "/api/v1/events",
            lambda s, b: s == 200 and any(e["kind"] == "override_expired" for e in b),
        )
        kinds = [e["kind"] for e in events]
        assert "override_released" in kinds and "write" not in kinds
        status, audit = await http.acall("GET", "/api/v1/audit?kind=override_released&limit=5")
        assert status == 200
        released = [row["detail"] for row in audit]
        assert released[-1]["id"] == "grid-1" and released[-1]["by"].startswith("http-cancel-")
        status, problem = await http.acall("GET", "/api/v1/audit?limit=0")
        assert status == 422 and "limit" in problem["detail"]
        status, problem = await http.acall("GET", "/api/v1/audit?since=2026-01-01T00:00")
        assert status == 422 and "since" in problem["detail"]

    rows = read_audit(tmp_path / "data" / AUDIT_FILE)
    requests = [r.detail.get("id") for r in rows if r.kind == "request"]
    assert requests[:2] == ["grid-1", "grid-1"]  # both audited as received, as over MQTT
    assert any("raw" in r.detail for r in rows if r.kind == "request")  # a bad one, as sent


async def test_without_a_token_writes_are_off_and_read_only_shows(tmp_path: Path) -> None:
    plant = api_plant(tmp_path, token=None, read_only=True)
    async with live_api(plant) as http:
        status, state = await http.acall("GET", "/api/v1/state")
        assert status == 200
        assert state["read_only"] is True and state["writes_enabled"] is False
        status, problem = await http.acall(
            "POST", "/api/v1/requests", body=_curtail("grid-1"), token="anything-at-all-long"
        )
        assert status == 403 and "HPCTL_TEST_NO_SUCH_VARIABLE" in problem["detail"]
        status, problem = await http.acall("GET", "/api/v1/plan")
        assert status == 404 and "policy = 'rules'" in problem["detail"]


async def test_requests_taken_over_http_survive_a_restart(tmp_path: Path) -> None:
    plant = api_plant(tmp_path)
    async with live_api(plant) as http:
        http.token = TOKEN
        status, answer = await http.acall("POST", "/api/v1/requests", body=_curtail("grid-1"))
        assert status == 200, answer
    async with live_api(plant) as http:
        status, overrides = await http.acall("GET", "/api/v1/overrides")
        assert [o["id"] for o in overrides] == ["grid-1"]
