"""What each policy may know, and when: market feeds for the replay and an audit that enforces it.

`mpc` gets the live controller's own `ScenarioMarket` (day-ahead prices from their publication,
carbon as it happens, the fuel price as last quoted) behind `AuditedMarket`, which checks every value handed out against the
disclosure rule and raises `InformationLeak` on the first one that is not public yet. The rule
is written out again here, not borrowed from the market code, so the audit does not share the
market's mistakes. `perfect` gets `PerfectMarket`: every price and intensity of the file.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from controller.core.report import CycleReport
from controller.evaluate.data import HOUR_S, EvaluationData
from controller.runtime.market import MarketFeed

HOUR = timedelta(hours=1)
FUEL_QUOTE_AGE = timedelta(days=8)  # a quote older than the market's history is not handed out


class InformationLeak(AssertionError):
    """A policy was handed a value before the moment a plant could have known it."""


class DisclosureRule:
    """Day-ahead prices for day D+1 are public from `publication` (local time) on day D;
    carbon intensity of an hour is known once that hour has begun (it is measured)."""

    def __init__(self, publication: time, timezone: str) -> None:
        self._publication = publication
        self._zone = ZoneInfo(timezone)

    def prices_public_until(self, now_utc: datetime) -> datetime:
        """End (exclusive, UTC) of the delivery hours whose prices are public at `now_utc`."""
        local = now_utc.astimezone(self._zone)
        last_day = local.date() + timedelta(days=1 if local.time() >= self._publication else 0)
        midnight = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=self._zone)
        return midnight.astimezone(UTC)

    def carbon_known_until(self, now_utc: datetime) -> datetime:
        return now_utc.replace(minute=0, second=0, microsecond=0) + HOUR

    @staticmethod
    def fuel_quote_known(quote_from_utc: datetime, now_utc: datetime) -> bool:
        """A fuel quote counts from its row's timestamp (the file states when it was known)."""
        return quote_from_utc <= now_utc


class AuditedMarket:
    """A `MarketFeed` that checks what another feed hands out, and caches it within the hour.

    The cache matters for speed only: the planner asks for prices every cycle to notice a
    publication, and the answer changes at most once an hour.
    """

    def __init__(
        self, inner: MarketFeed, rule: DisclosureRule, data: EvaluationData | None = None
    ) -> None:
        self._inner = inner
        self._rule = rule
        self._data = data
        self._prices_key: tuple[datetime, datetime] | None = None
        self._prices: tuple[dict[datetime, float], datetime] = (
            {},
            datetime.min.replace(tzinfo=UTC),
        )
        self._carbon_key: datetime | None = None
        self._carbon: dict[datetime, float] = {}
        self.price_reads_total = 0
        self.leaks: list[InformationLeak] = []  # kept: the cycle survives what its policy raises

    def _leak(self, message: str) -> InformationLeak:
        leak = InformationLeak(message)
        self.leaks.append(leak)
        return leak

    def prices(self, now_utc: datetime) -> tuple[dict[datetime, float], datetime]:
        allowed = self._rule.prices_public_until(now_utc)
        key = (now_utc.replace(minute=0, second=0, microsecond=0), allowed)
        if key != self._prices_key:
            prices, known_until = self._inner.prices(now_utc)
            self.price_reads_total += 1
            late = [hour for hour in prices if hour + HOUR > allowed]
            if known_until > allowed or late:
                first = min(late) if late else known_until - HOUR
                raise self._leak(
                    f"price for the hour {first.isoformat()} handed out at {now_utc.isoformat()}, "
                    f"but prices are public only up to {allowed.isoformat()}"
                )
            self._prices_key, self._prices = key, (prices, known_until)
        return self._prices

    def carbon(self, now_utc: datetime) -> dict[datetime, float]:
        hour = now_utc.replace(minute=0, second=0, microsecond=0)
        if hour != self._carbon_key:
            carbon = self._inner.carbon(now_utc)
            allowed = self._rule.carbon_known_until(now_utc)
            late = [when for when in carbon if when >= allowed]
            if late:
                raise self._leak(
                    f"carbon intensity of {min(late).isoformat()} handed out at "
                    f"{now_utc.isoformat()}, before that hour began"
                )
            self._carbon_key, self._carbon = hour, carbon
        return self._carbon

    def fuel_price(self, now_utc: datetime) -> float | None:
        price = self._inner.fuel_price(now_utc)
        if price is None or self._data is None:
            return price
        # the value handed out must be one quoted at or before now
        known = {
            value
            for when, value in self._data.fuel_quotes(now_utc - FUEL_QUOTE_AGE, now_utc + HOUR)
            if self._rule.fuel_quote_known(when, now_utc)
        }
        if price not in known:
            raise InformationLeak(
                f"fuel price {price:g} EUR/MWh handed out at {now_utc.isoformat()} was not "
                "quoted at or before that moment"
            )
        return price


class LeakCheck:
    """A cycle observer that ends the replay on the first leak its market saw.

    A policy that reads the market inside the cycle (`merit`) raises there, and the cycle,
    built never to stop controlling the plant, drops that cycle to the rules and goes on: the
    leak would only be logged. This check raises it again where the replay cannot go on."""

    def __init__(self, market: AuditedMarket) -> None:
        self._market = market

    def observe(self, report: CycleReport) -> None:
        if self._market.leaks:
            raise self._market.leaks[0]


class PerfectMarket:
    """Every hourly price and intensity of the file, known from the start (`perfect` only)."""

    def __init__(self, data: EvaluationData) -> None:
        self._prices = {data.hour_utc(k): float(v) for k, v in enumerate(data.price_eur_per_mwh)}
        self._carbon = {data.hour_utc(k): float(v) for k, v in enumerate(data.carbon_g_per_kwh)}
        self._until = datetime.fromtimestamp(data.first_hour_s + data.hours * HOUR_S, tz=UTC)
        self._data = data

    def prices(self, now_utc: datetime) -> tuple[dict[datetime, float], datetime]:
        return self._prices, self._until

    def carbon(self, now_utc: datetime) -> dict[datetime, float]:
        return self._carbon

    def fuel_price(self, now_utc: datetime) -> float | None:
        return self._data.fuel_price_at(now_utc)
