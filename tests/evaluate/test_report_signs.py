"""Reports say with their sign what a policy changed, and give a capture ratio only where the
denominator means something."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from controller.config import Plant
from controller.evaluate.data import EvaluationData
from controller.evaluate.kpis import Change, capture_with_reason
from controller.evaluate.report import change_sentence
from controller.evaluate.sweep import carbon_sweep, write_sweep


def _change(cash: float, co2: float) -> Change:
    return Change(
        cash_eur=cash,
        cash_pct=cash / 10.0,
        objective_eur=cash + 67 * co2,
        objective_pct=(cash + 67 * co2) / 10.0,
        co2_t=co2,
        co2_pct=co2 / 2.0,
        starts=12,
        run_hours_h=-3.0,
        interlock_interventions=0,
    )


def test_a_policy_that_saves_money_by_emitting_more_is_said_to_emit_more() -> None:
    text = change_sentence("mpc", _change(-1_000.0, 5.0), 67.0)
    assert "cash cost -1,000 EUR (-100.0 %, saves)" in text
    assert "CO2 +5.0 t (+2.5 %, emits MORE)" in text
    assert "not a saving this product claims" in text
    assert "starts +12" in text
    both = change_sentence("mpc", _change(-1_000.0, -5.0), 67.0)
    assert "emits less" in both and "not a saving" not in both
    dearer = change_sentence("merit", _change(400.0, -1.0), 0.0)
    assert "costs more" in dearer and "cost with carbon" not in dearer


def test_a_capture_ratio_is_given_only_where_perfect_really_improves() -> None:
    ratio, why = capture_with_reason(100.0, 90.0, 80.0)
    assert ratio == pytest.approx(0.5) and why == ""
    ratio, why = capture_with_reason(100.0, 90.0, 120.0)  # perfect raised this figure
    assert math.isnan(ratio) and "perfect is worse than the baseline" in why
    ratio, why = capture_with_reason(100.0, 99.0, 99.9)  # 0.1 %: noise over noise
    assert math.isnan(ratio) and "under 0.5%" in why


def test_a_carbon_sweep_replays_the_price_blind_baseline_once_and_writes_the_tradeoff(
    river: Plant, june: EvaluationData, tmp_path: Path
) -> None:
    start = datetime(2024, 6, 4, tzinfo=UTC)
    seen: list[float] = []
    sweep = carbon_sweep(
        river,
        june,
        start,
        start + timedelta(days=1),
        ("baseline", "mpc"),
        (0.0, 200.0),
        300.0,
        each=lambda evaluation, price: seen.append(evaluation.carbon_price_eur_per_t),
    )
    assert seen == [0.0, 200.0]
    baseline = [p for p in sweep.points if p.policy == "baseline"]
    assert len(baseline) == 2 and baseline[0].co2_t == baseline[1].co2_t  # one replay, reused
    assert all(p.cash_change_eur == 0.0 for p in baseline)
    paths = write_sweep(sweep, tmp_path)
    data = json.loads(paths["json"].read_text())
    assert data["carbon_prices_eur_per_t"] == [0.0, 200.0]
    assert {p["policy"] for p in data["points"]} == {"baseline", "mpc"}
    assert paths["plot"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| 200 | mpc |" in paths["markdown"].read_text()
