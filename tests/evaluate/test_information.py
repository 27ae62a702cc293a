"""Each policy sees exactly what it should: mpc nothing before its publication, perfect all."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from controller.config import Plant
from controller.core.forecaster import Forecaster, LookaheadError
from controller.core.merit import MeritPrices
from controller.core.plan import Plan
from controller.evaluate import policies
from controller.evaluate.data import EvaluationData
from controller.evaluate.information import (
    AuditedMarket,
    DisclosureRule,
    InformationLeak,
    PerfectMarket,
)
from controller.evaluate.replay import replay
from controller.runtime.market import ScenarioMarket
from controller.runtime.merit_policy import MeritPolicy, local_day_utc
from drivers.clock import SimClock

NOON = time(12, 0)
TZ = "Europe/Copenhagen"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.mark.parametrize(
    ("now", "public_until"),
    [
        # winter (CET, UTC+1): tomorrow's prices appear at 11:00Z
        ("2024-01-09T10:59Z", "2024-01-09T23:00Z"),
        ("2024-01-09T11:00Z", "2024-01-10T23:00Z"),
        ("2024-01-09T23:30Z", "2024-01-10T23:00Z"),  # already the 10th locally, before noon
        # summer (CEST, UTC+2): at 10:00Z
        ("2024-06-05T09:59Z", "2024-06-05T22:00Z"),
        ("2024-06-05T10:00Z", "2024-06-06T22:00Z"),
    ],
)
def test_disclosure_rule_matches_hand_computed_publication(now: str, public_until: str) -> None:
    assert DisclosureRule(NOON, TZ).prices_public_until(utc(now)) == utc(public_until)


def test_the_live_market_never_hands_out_an_unpublished_price(january: EvaluationData) -> None:
    market = AuditedMarket(
        ScenarioMarket(january.market_scenario, NOON, TZ), DisclosureRule(NOON, TZ)
    )
    now = utc("2024-01-07T00:00Z")
    seen_tomorrow = False
    while now < utc("2024-01-10T00:00Z"):
        _, known_until = market.prices(now)
        seen_tomorrow |= known_until - now > timedelta(hours=24)
        market.carbon(now)
        now += timedelta(minutes=5)
    assert seen_tomorrow and market.price_reads_total >= 72


def test_a_feed_that_knows_the_future_is_caught(january: EvaluationData) -> None:
    market = AuditedMarket(PerfectMarket(january), DisclosureRule(NOON, TZ))
    with pytest.raises(InformationLeak, match="public only up to"):
        market.prices(utc("2024-01-09T10:00Z"))


def test_mpc_fails_if_it_reads_a_price_before_its_publication(
    river: Plant, january: EvaluationData
) -> None:
    start = utc("2024-01-08T00:00Z")

    def leaky(plant: Plant, clock: SimClock) -> policies.PolicySetup:
        return policies.mpc(plant, january, clock, start, market=PerfectMarket(january))

    with pytest.raises(InformationLeak):
        replay(river, january, leaky, start, start + timedelta(hours=6))


def _kept(setup: policies.PolicySetup) -> policies.PolicySetup:
    assert setup.planner is not None
    setup.planner.keep_plans = True
    return setup


def test_mpc_plans_use_published_prices_only_and_perfect_uses_the_truth(
    river: Plant, january: EvaluationData
) -> None:
    start = utc("2024-01-08T00:00Z")
    kept: dict[str, list[Plan]] = {}

    def make(name: str):  # type: ignore[no-untyped-def]
        def build(plant: Plant, clock: SimClock) -> policies.PolicySetup:
            if name == "mpc":
                setup = _kept(policies.mpc(plant, january, clock, start))
            else:
                setup = _kept(policies.perfect(plant, january, clock))
            assert setup.planner is not None
            kept[name] = setup.planner.plans
            return setup

        return build

    end = start + timedelta(hours=30)
    replay(river, january, make("mpc"), start, end)
    replay(river, january, make("perfect"), start, end)
    # the plant's own publication time (13:00 local by default since quarter-hour prices)
    rule = DisclosureRule(river.control.planner.publication_time, TZ)
    truth = january.price_eur_per_mwh
    compared_unknown = 0
    for plan in kept["mpc"]:
        made_at = plan.inputs.start_utc + timedelta(minutes=10)  # plans are made within the hour
        public_until = rule.prices_public_until(made_at)
        for k, price in enumerate(plan.inputs.price_eur_per_mwh):
            hour = plan.inputs.start_utc + timedelta(hours=k)
            if hour < public_until:
                assert price == pytest.approx(truth[january.hour_index(hour)])
            else:
                # not yet published: the last known day repeats
                assert price == pytest.approx(
                    truth[january.hour_index(hour - timedelta(days=1))]
                ) or price == pytest.approx(truth[january.hour_index(hour - timedelta(days=2))])
                compared_unknown += 1
    assert compared_unknown > 100
    assert len(kept["perfect"]) >= 1
    for plan in kept["perfect"]:
        assert plan.inputs.steps == 72
        first = january.hour_index(plan.inputs.start_utc)
        assert plan.inputs.price_eur_per_mwh == pytest.approx(list(truth[first : first + 72]))
        assert plan.inputs.heat_demand_kw == pytest.approx(
            list(january.heat_demand_kw[first : first + 72])
        )


def test_the_forecaster_refuses_an_hour_that_has_not_ended(river: Plant) -> None:
    forecaster = Forecaster(river.site.network, TZ)
    hour = datetime(2024, 1, 8, 10, tzinfo=UTC)
    forecaster.add_hour(hour, hour + timedelta(hours=1), 1.0, 20000.0)
    with pytest.raises(LookaheadError):
        forecaster.add_hour(hour + timedelta(hours=1), hour + timedelta(minutes=119), 1.0, 2e4)


def test_merit_fails_if_it_reads_a_price_before_its_publication(
    river: Plant, january: EvaluationData
) -> None:
    start = utc("2024-01-08T00:00Z")

    def leaky(plant: Plant, clock: SimClock) -> policies.PolicySetup:
        return policies.merit(plant, january, market=PerfectMarket(january))

    with pytest.raises(InformationLeak):
        replay(river, january, leaky, start, start + timedelta(hours=2))


def test_merit_decides_on_the_hours_price_and_the_mean_of_todays_published_prices(
    river: Plant, january: EvaluationData
) -> None:
    start = utc("2024-01-08T00:00Z")
    seen: dict[datetime, MeritPrices | None] = {}

    class Recording(MeritPolicy):
        def prices(self, now_utc: datetime) -> MeritPrices | None:
            prices = super().prices(now_utc)
            seen[now_utc.replace(minute=0)] = prices
            return prices

    def make(plant: Plant, clock: SimClock) -> policies.PolicySetup:
        setup = policies.merit(plant, january)
        assert isinstance(setup.policy, MeritPolicy)
        setup.policy.__class__ = Recording
        return setup

    result = replay(river, january, make, start, start + timedelta(hours=30))
    assert result.unmet_heat_kwh == 0.0
    truth = january.price_eur_per_mwh
    assert len(seen) == 31  # the cycle follows each plant step: the last one at the end
    for hour, prices in seen.items():
        assert prices is not None
        assert prices.price_eur_per_mwh == pytest.approx(truth[january.hour_index(hour)])
        first, end = local_day_utc(hour, TZ)
        day = [truth[january.hour_index(first + timedelta(hours=k))] for k in range(24)]
        assert end - first == timedelta(hours=24)
        assert prices.day_mean_price_eur_per_mwh == pytest.approx(sum(day) / 24)
