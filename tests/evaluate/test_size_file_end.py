"""Found by the year's sizing sweep: `perfect` re-planning in the scenario's last hour (a small
tank strays and asks for a re-plan) got an empty forecast and the replay failed an hour before
its end. The planner now gets the last hour held for the step past the file."""

from __future__ import annotations

from datetime import timedelta

from controller.evaluate.data import EvaluationData
from controller.evaluate.policies import truth_forecast
from controller.runtime.planner import Forecast


def _base(data: EvaluationData, hours_before_end: int, steps: int) -> Forecast:
    start = data.end_utc - timedelta(hours=hours_before_end)
    times = tuple(start + timedelta(hours=k) for k in range(steps))
    zeros = (0.0,) * steps
    return Forecast(
        steps_utc=times,
        price_eur_per_mwh=zeros,
        carbon_g_per_kwh=zeros,
        outdoor_temp_c=zeros,
        source_temp_c=zeros,
        heat_demand_kw=zeros,
        prices_known_until=start,
    )


def test_replan_past_the_last_hour_holds_the_last_hour(june: EvaluationData) -> None:
    forecast = truth_forecast(june, _base(june, 0, 72))
    assert forecast.steps_utc == (june.end_utc,)
    last = june.hours - 1
    assert forecast.price_eur_per_mwh == (float(june.price_eur_per_mwh[last]),)
    assert forecast.heat_demand_kw == (float(june.heat_demand_kw[last]),)
    assert forecast.outdoor_temp_c == (float(june.outdoor_temp_c[last]),)


def test_inside_the_file_the_truth_is_cut_at_its_end(june: EvaluationData) -> None:
    forecast = truth_forecast(june, _base(june, 3, 72))
    assert len(forecast.steps_utc) == 3
    first = june.hours - 3
    assert forecast.price_eur_per_mwh == tuple(
        float(v) for v in june.price_eur_per_mwh[first : june.hours]
    )
