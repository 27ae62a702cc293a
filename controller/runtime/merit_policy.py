"""The merit-order rule as a dispatch policy: today's published prices from the market feed.

Each hour it reads the feed once: this hour's price, the mean of today's prices (today in the
plant's time zone: all of them are published by the day before), and the grid's carbon
intensity measured so far today. Nothing beyond what the feed has published is asked for, so
behind the evaluator's audit (`controller.evaluate.information.AuditedMarket`) a feed that
hands out the future is caught. Without this hour's price, or with a blind tank, the rules
decide (logged once per spell).
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from controller.config import Plant
from controller.core.commands import Targets
from controller.core.forecast import hour_start
from controller.core.merit import MeritPrices, merit_targets
from controller.core.rules import rule_targets
from controller.core.situation import Situation
from controller.runtime.market import MarketFeed

log = logging.getLogger(__name__)


def local_day_utc(now_utc: datetime, timezone: str) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the local calendar day `now_utc` falls in (23 to 25 hours)."""
    zone = ZoneInfo(timezone)
    day = now_utc.astimezone(zone).date()
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(now_utc.tzinfo), end.astimezone(now_utc.tzinfo)


def merit_prices(market: MarketFeed, now_utc: datetime, timezone: str) -> MeritPrices | None:
    """This hour's price and today's means from the feed; None without this hour's price."""
    prices, _ = market.prices(now_utc)
    hour = hour_start(now_utc)
    price = prices.get(hour)
    if price is None:
        return None
    start, end = local_day_utc(now_utc, timezone)
    today = [value for when, value in prices.items() if start <= when < end]
    carbon = market.carbon(now_utc)
    measured = [value for when, value in carbon.items() if start <= when <= hour]
    latest = max((when for when in carbon if when <= hour), default=None)
    intensity = carbon[latest] if latest is not None else 0.0
    return MeritPrices(
        price_eur_per_mwh=price,
        carbon_g_per_kwh=intensity,
        day_mean_price_eur_per_mwh=sum(today) / len(today),
        day_mean_carbon_g_per_kwh=sum(measured) / len(measured) if measured else intensity,
        fuel_price_eur_per_mwh=market.fuel_price(now_utc),
    )


class MeritPolicy:
    """Heat from the cheaper source (carbon included), the tank charged in the day's cheap
    hours, the units staged with the load (`controller.core.merit`)."""

    def __init__(self, plant: Plant, market: MarketFeed) -> None:
        self._market = market
        self._timezone = plant.site.plant.timezone
        self._carbon_price = plant.control.planner.carbon_price_eur_per_t
        self._hour: datetime | None = None
        self._prices: MeritPrices | None = None
        self.fallback = False  # the rules decide (no price for this hour, or a blind tank)

    def prices(self, now_utc: datetime) -> MeritPrices | None:
        """The feed is read once an hour: today's prices do not change within it."""
        hour = hour_start(now_utc)
        if hour != self._hour:
            self._prices = merit_prices(self._market, now_utc, self._timezone)
            self._hour = hour
        return self._prices

    def targets(self, situation: Situation, previous: Targets | None) -> Targets:
        state = situation.state
        prices = self.prices(state.now_utc)
        fallback = prices is None or state.soc is None
        if fallback != self.fallback:
            if fallback:
                why = "no price for this hour" if prices is None else "tank state unknown"
                log.warning("merit: %s, the rules decide", why)
            else:
                log.info("merit: prices and tank known again")
            self.fallback = fallback
        if prices is None or state.soc is None:
            return rule_targets(situation, previous)
        return merit_targets(situation, previous, prices, self._carbon_price)
