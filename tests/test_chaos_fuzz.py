"""The fuzz harness of `make chaos` classifies correctly: a finding it reports must be real,
and a failure must not be counted as a clean rejection. The campaign itself is not run here."""

from __future__ import annotations

import json
import math
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import BaseModel

from bench.chaos import targets
from bench.chaos.fuzz import fuzz_target, summary_lines
from bench.chaos.harness import Verdict, inspect, run_with_budget
from bench.chaos.mutations import FuzzCase
from bench.chaos.toml_text import dumps
from controller.config import ConfigError, load_plant


class Reading(BaseModel):
    supply_temp_c: float
    heat_kw: float
    price_eur_per_mwh: float
    start_utc: datetime


def _reading(**changes: object) -> Reading:
    values: dict[str, object] = {
        "supply_temp_c": 75.0,
        "heat_kw": 500.0,
        "price_eur_per_mwh": -40.0,  # negative prices are real
        "start_utc": datetime(2026, 12, 3, tzinfo=UTC),
    }
    return Reading.model_validate({**values, **changes})


def test_documented_error_is_rejected_and_any_other_is_a_crash() -> None:
    def refuse() -> Verdict:
        raise ConfigError("plant.toml: bad")

    def break_down() -> Verdict:
        raise KeyError("missing")

    assert run_with_budget(refuse, (ConfigError,), 5.0)[0].outcome == "rejected"
    crash = run_with_budget(break_down, (ConfigError,), 5.0)[0]
    assert crash.outcome == "crash"
    assert crash.signature.startswith("KeyError at tests/test_chaos_fuzz.py:")


def test_an_input_that_never_returns_is_a_hang() -> None:
    def spin() -> Verdict:
        while True:
            pass

    verdict, _ = run_with_budget(spin, (ConfigError,), 0.05)
    assert verdict.outcome == "hang"


@pytest.mark.parametrize(
    ("changes", "signature"),
    [
        ({"heat_kw": math.nan}, "reading.heat_kw: non-finite"),
        ({"supply_temp_c": 500.0}, "reading.supply_temp_c: temperature out of range"),
        ({"heat_kw": -1.0}, "reading.heat_kw: negative"),
        ({"price_eur_per_mwh": 1e308}, "reading.price_eur_per_mwh: absurd magnitude"),
        (
            {"start_utc": "0001-01-01T00:00:00+14:00"},
            "reading.start_utc: timestamp not representable in UTC",
        ),
    ],
)
def test_accepted_unusable_values_are_violations(
    changes: dict[str, object], signature: str
) -> None:
    verdict = inspect(_reading(**changes), "reading")
    assert (verdict.outcome, verdict.signature) == ("violation", signature)


def test_ordinary_values_and_negative_prices_are_accepted() -> None:
    assert inspect(_reading(), "reading").outcome == "accepted"


def test_toml_writer_round_trips_the_shipped_files_and_special_values() -> None:
    files = sorted(targets.PLANTS.glob("*.toml")) + sorted(targets.POINTMAPS.glob("*.toml"))
    for path in files:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
        assert tomllib.loads(dumps(document)) == document, path
    odd = {"a b": 'q"\n\x00\\', "t": {"x": [math.inf, -1e308, True, []]}}
    assert tomllib.loads(dumps(odd)) == odd
    assert math.isnan(tomllib.loads(dumps({"v": math.nan}))["v"])


def test_the_unmutated_inputs_are_accepted(tmp_path: Path) -> None:
    """Every mutation starts from these: were one refused, the campaign would measure noise."""
    plant_file = tmp_path / "plants" / "fuzz.toml"
    targets.plant_target(tmp_path)  # lays out plants/ and pointmaps/ under tmp_path
    for path in sorted(targets.PLANTS.glob("*.toml")):
        case = FuzzCase(path.name, (), path.read_bytes())
        assert targets.check_plant(case, plant_file) == Verdict("accepted"), path
    site = load_plant(targets.PLANTS / "river_20mw.toml").site
    for base in targets.scenario_bases():
        text = "\n".join(",".join(row) for row in [base.header, *base.rows]) + "\n"
        case = FuzzCase(base.name, (), text.encode())
        verdict = targets.check_scenario(case, tmp_path / "scenario.csv", site)
        assert verdict == Verdict("accepted"), base.name
    for kind, templates in targets.MESSAGE_TEMPLATES.items():
        for template in templates:
            case = FuzzCase(f"{kind}#0", (), json.dumps(template).encode())
            assert targets.check_message(case) == Verdict("accepted"), template


def test_a_short_campaign_counts_every_input() -> None:
    stats = fuzz_target(targets.mqtt_target(), 30, run_seed=7, budget_s=5.0)
    result = stats.to_json()
    assert result["inputs"] == 30
    assert (
        result["rejected_cleanly"]
        + result["accepted"]
        + result["crashes"]
        + result["hangs"]
        + result["accepted_non_finite_or_out_of_range"]
        == 30
    )
    lines = summary_lines(
        {
            "targets": {"mqtt_payloads": result},
            "totals": {key: result[key] for key in result if isinstance(result[key], int)},
            "wall_s": 1.0,
            "seed": 7,
            "load_average_after": [1.0, 1.0, 1.0],
            "cpu_count": 2,
        }
    )
    assert lines[1].startswith("mqtt_payloads")
