"""`hpctl feed`: a scenario's real market days replayed onto today's calendar over MQTT.

The compose stack has no trading system: this stands in for one, so that the controller's
planner sees real prices and carbon intensity and Grafana shows real dispatch decisions.

Day D of the scenario file is today (the plant's local calendar), D+1 tomorrow, D-1 yesterday;
past the file's last whole day the days start again from its first. D is `--from-day`, or the
file's day with today's month and day, or else the file's days in turn counted from its first.
The values go out as the real markets release them (`ScenarioMarket` decides, the same rules
as a replay): prices for today (and the past week) at start and tomorrow's at the plant's
`price_publication_local`; carbon intensity hour by hour as each hour begins (measured, never
ahead); the fuel price, when the file has one, as it changes. Every message is retained and
carries everything known for the past week up to now, so a controller that starts later, or a
broker that restarts, gets the whole picture from one message per topic.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
import time as monotonic_time
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiomqtt

from controller.app import cli_args
from controller.config import ConfigError, Plant, load_plant
from controller.core.forecast import HOUR, hour_start
from controller.runtime.market import ScenarioMarket
from controller.telemetry.mqtt.bridge import Topics, read_password, tls_parameters, topics_for
from drivers.clock import Clock, WallClock
from drivers.csv_input import shown
from drivers.scenario import Scenario, ScenarioError, ScenarioRow, load_scenario

log = logging.getLogger(__name__)

PAST_DAYS = 6  # the planner's history: a week of prices and carbon with today
_BACKOFF_MAX_S = 60.0


@dataclass(frozen=True)
class DayMap:
    """Which whole local day of the file stands for which day of the calendar."""

    file_days: tuple[date, ...]  # the file's whole local days, in order
    anchor: date  # a calendar day ...
    anchor_index: int  # ... and the index of the file day standing for it

    def file_day(self, day: date) -> date:
        index = (self.anchor_index + (day - self.anchor).days) % len(self.file_days)
        return self.file_days[index]


def _midnight_utc(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def whole_days(scenario: Scenario, timezone: str) -> tuple[date, ...]:
    """The local days the file covers from midnight to midnight."""
    zone = ZoneInfo(timezone)
    first = scenario.start_utc.astimezone(zone).date()
    last = scenario.end_utc.astimezone(zone).date()
    days = []
    day = first
    while day <= last:
        if (
            _midnight_utc(day, zone) >= scenario.start_utc
            and _midnight_utc(day + timedelta(days=1), zone) <= scenario.end_utc
        ):
            days.append(day)
        day += timedelta(days=1)
    return tuple(days)


def day_map(scenario: Scenario, timezone: str, today: date, from_day: date | None) -> DayMap:
    """Today's file day: `from_day`, the file's day with today's month and day, or the file's
    days in turn; a file without a whole day, or a `from_day` outside it, is refused."""
    days = whole_days(scenario, timezone)
    if not days:
        raise ScenarioError(
            f"{scenario.source}: no whole day from midnight to midnight ({timezone}) between "
            f"{scenario.start_utc:%Y-%m-%dT%H:%MZ} and {scenario.end_utc:%Y-%m-%dT%H:%MZ}: "
            "the feed replays whole market days"
        )
    if from_day is not None:
        if from_day not in days:
            raise ScenarioError(
                f"{scenario.source}: --from-day {from_day} is not a whole day of the file "
                f"(its whole days, {timezone}: {days[0]} to {days[-1]})"
            )
        return DayMap(days, today, days.index(from_day))
    for index, day in enumerate(days):
        if (day.month, day.day) == (today.month, today.day):
            return DayMap(days, today, index)
    return DayMap(days, days[0], 0)


def replayed(scenario: Scenario, days: DayMap, timezone: str, today: date) -> Scenario:
    """The rows of the file days standing for the past week, today and tomorrow, moved onto
    those days' hours. A day of another length (daylight saving) is cut at its end, or its last
    hour repeated, so that local hours stay local hours."""
    zone = ZoneInfo(timezone)
    rows: list[ScenarioRow] = []
    for offset in range(-PAST_DAYS, 2):
        day = today + timedelta(days=offset)
        source_day = days.file_day(day)
        source_start = _midnight_utc(source_day, zone)
        source_length = _midnight_utc(source_day + timedelta(days=1), zone) - source_start
        start = _midnight_utc(day, zone)
        length = _midnight_utc(day + timedelta(days=1), zone) - start
        source_rows = scenario.between(source_start, source_start + source_length)
        moved = [(row.timestamp_utc - source_start, row) for row in source_rows]
        extra = length - source_length
        if extra > timedelta(0):
            moved += [(o + extra, r) for o, r in moved if o >= source_length - extra]
        for since_midnight, row in moved:
            if since_midnight < length:
                rows.append(_at(row, start + since_midnight))
    return Scenario(
        source=f"{scenario.source} (replayed onto {today})",
        rows=tuple(rows),
        columns=scenario.columns,
    )


def _at(row: ScenarioRow, when_utc: datetime) -> ScenarioRow:
    return ScenarioRow(
        timestamp_utc=when_utc,
        price_eur_per_mwh=row.price_eur_per_mwh,
        carbon_g_per_kwh=row.carbon_g_per_kwh,
        outdoor_temp_c=row.outdoor_temp_c,
        heat_demand_kw=row.heat_demand_kw,
        source_temp_c=row.source_temp_c,
        fuel_price_eur_per_mwh=row.fuel_price_eur_per_mwh,
    )


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Messages:
    """What the market has released at one moment, as the payloads the bridge accepts."""

    prices: dict[str, object] | None
    carbon: dict[str, object] | None
    fuel: dict[str, object] | None


class Feed:
    """The scenario as a market releases it, re-mapped whenever the local day changes."""

    def __init__(self, plant: Plant, scenario: Scenario, from_day: date | None) -> None:
        self._scenario = scenario
        self._timezone = plant.site.plant.timezone
        self._zone = ZoneInfo(self._timezone)
        self._publication = plant.control.planner.publication_time
        self._from_day = from_day
        self._days: DayMap | None = None
        self._today: date | None = None
        self._market: ScenarioMarket | None = None

    def local_day(self, now_utc: datetime) -> date:
        return now_utc.astimezone(self._zone).date()

    def describe(self, now_utc: datetime) -> str:
        today = self.local_day(now_utc)
        days = self._mapping(today)
        return (
            f"{self._scenario.source}: file day {days.file_day(today)} is today ({today}), "
            f"{days.file_day(today + timedelta(days=1))} tomorrow"
        )

    def _mapping(self, today: date) -> DayMap:
        if self._days is None:
            self._days = day_map(self._scenario, self._timezone, today, self._from_day)
        return self._days

    def _market_on(self, today: date) -> ScenarioMarket:
        if self._market is None or self._today != today:
            shifted = replayed(self._scenario, self._mapping(today), self._timezone, today)
            self._market = ScenarioMarket(shifted, self._publication, self._timezone)
            self._today = today
        return self._market

    def messages(self, now_utc: datetime) -> Messages:
        market = self._market_on(self.local_day(now_utc))
        known, _ = market.prices(now_utc)  # all of it ends before the known run's end
        prices = [
            {"start_utc": _stamp(start), "price_eur_per_mwh": round(value, 4)}
            for start, value in sorted(known.items())
        ]
        carbon = [
            {"start_utc": _stamp(start), "carbon_g_per_kwh": round(value, 4)}
            for start, value in sorted(market.carbon(now_utc).items())
        ]
        fuel_price = market.fuel_price(now_utc)
        return Messages(
            prices={"prices": prices} if prices else None,
            carbon={"values": carbon} if carbon else None,
            fuel=None if fuel_price is None else {"fuel_price_eur_per_mwh": fuel_price},
        )

    def next_change(self, now_utc: datetime) -> datetime:
        """The next moment something may be released: an hour's start (carbon), the daily
        publication (tomorrow's prices) or a local midnight (a new day)."""
        local = now_utc.astimezone(self._zone)
        publication = datetime.combine(local.date(), self._publication, tzinfo=self._zone)
        if publication <= local:
            publication += timedelta(days=1)
        midnight = _midnight_utc(local.date() + timedelta(days=1), self._zone)
        return min(hour_start(now_utc) + HOUR, publication.astimezone(UTC), midnight)


class ScaledClock:
    """Time from `start`, running `speed` times as fast as the wall clock (for a controller
    whose own clock runs as fast); speed 1 from now is the wall clock."""

    def __init__(self, start: datetime, speed: float) -> None:
        self._start = start
        self._speed = speed
        self._origin_s = monotonic_time.monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self.monotonic_s())

    def monotonic_s(self) -> float:
        return (monotonic_time.monotonic() - self._origin_s) * self._speed

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self._speed)


def _client(plant: Plant) -> aiomqtt.Client:
    """A client with the bridge's broker settings (host, port, user, password file, TLS) and
    its own identity: the feed must not take over the controller's session."""
    config = plant.control.mqtt
    return aiomqtt.Client(
        config.host,
        config.port,
        username=config.username,
        password=read_password(plant),
        identifier=f"hpctl-feed-{plant.site.plant.name}",
        keepalive=config.keepalive_s,
        tls_params=tls_parameters(plant),
        timeout=10.0,
    )


class FeedError(Exception):
    """The feed could not do its job (the broker refused or was unreachable with --once)."""


async def _publish_changes(
    client: aiomqtt.Client,
    topics: Topics,
    messages: Messages,
    sent: dict[str, dict[str, object]],
) -> None:
    for topic, body in (
        (topics.prices, messages.prices),
        (topics.carbon, messages.carbon),
        (topics.fuel, messages.fuel),
    ):
        if body is None or sent.get(topic) == body:
            continue
        payload = json.dumps(body, separators=(",", ":")).encode("utf-8")
        await client.publish(topic, payload, qos=1, retain=True)
        sent[topic] = body
        log.info("feed: %s, %s", topic, _summary(body))


def _summary(body: dict[str, object]) -> str:
    for key in ("prices", "values"):
        points = body.get(key)
        if isinstance(points, list) and points:
            return f"{len(points)} values, {points[0]['start_utc']} to {points[-1]['start_utc']}"
    return json.dumps(body)


async def run_feed(
    plant: Plant, feed: Feed, clock: Clock, stop: asyncio.Event, once: bool = False
) -> None:
    """Publish until `stop` (with `once`: what is known now, then return). A lost broker is
    retried with back-off, and everything is sent again on the new connection."""
    topics = topics_for(plant)
    where = f"{plant.control.mqtt.host}:{plant.control.mqtt.port}"
    log.info("feed: %s, to %s on %s", feed.describe(clock.now()), topics.prefix, where)
    failures = 0
    while not stop.is_set():
        sent: dict[str, dict[str, object]] = {}  # a new session may meet a restarted broker
        try:
            async with _client(plant) as client:
                failures = 0
                while not stop.is_set():
                    now = clock.now()
                    await _publish_changes(client, topics, feed.messages(now), sent)
                    if once:
                        return
                    wait_s = (feed.next_change(now) - now).total_seconds()
                    await _sleep_or_stop(clock, wait_s, stop)
        except aiomqtt.MqttError as exc:
            if once:
                raise FeedError(f"MQTT broker {where}: {exc}") from None
            delay_s = min(_BACKOFF_MAX_S, 2.0**failures)
            failures += 1
            log.warning(
                "feed: broker %s lost or unreachable (%s); again in %g s", where, exc, delay_s
            )
            # real seconds, not the feed's scaled clock: --speed must not hammer the broker
            await _sleep_real_or_stop(delay_s, stop)


async def _sleep_or_stop(clock: Clock, seconds: float, stop: asyncio.Event) -> None:
    sleeper = asyncio.ensure_future(clock.sleep(seconds))
    stopper = asyncio.ensure_future(stop.wait())
    await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
    sleeper.cancel()
    stopper.cancel()


async def _sleep_real_or_stop(seconds: float, stop: asyncio.Event) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        return


def calendar_day(text: str) -> date:
    """The argparse type of `--from-day`: a plain date, YYYY-MM-DD."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{shown(text)}' is not a date: YYYY-MM-DD, a whole day of the scenario file "
            "(e.g. 2024-01-08)"
        ) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--plant", type=Path, required=True, help="plant file: its broker, time zone, publication"
    )
    parser.add_argument(
        "--scenario",
        type=Path,
        required=True,
        help="scenario CSV whose prices, carbon and fuel are replayed onto today's hours",
    )
    parser.add_argument(
        "--from-day",
        type=calendar_day,
        help="the file's day that stands for today (default: the file's day with today's "
        "month and day, else the file's days in turn)",
    )
    parser.add_argument(
        "--speed",
        type=cli_args.positive_number,
        default=1.0,
        help="feed seconds per real second, for a controller whose clock runs as fast "
        "(default 1: real time)",
    )
    parser.add_argument(
        "--once", action="store_true", help="publish what is known now, then exit (tests, cron)"
    )
    parser.add_argument(
        "--now",
        type=cli_args.timestamp,
        help="take this as the current time: ISO 8601 with Z or an offset (default: the clock)",
    )


def run(args: argparse.Namespace) -> int:
    """`hpctl feed`: 0 when stopped or done, 1 when the broker could not be reached (--once);
    bad plant or scenario files raise their errors for the command line to print."""
    plant = load_plant(args.plant)
    scenario = load_scenario(args.scenario)
    if not plant.control.mqtt.enabled:
        raise ConfigError(
            f"{plant.path}: [control.mqtt] is not enabled: the feed publishes to the broker the "
            "controller's bridge reads (enabled = true, host, port)"
        )
    # the wall clock itself unless told otherwise: a monotonic count would fall behind it
    # over a suspend of the host (a laptop running the compose stack)
    clock: Clock = WallClock()
    if args.now is not None or args.speed != 1.0:
        clock = ScaledClock(args.now or datetime.now(UTC), args.speed)
    feed = Feed(plant, scenario, args.from_day)
    feed.describe(clock.now())  # a bad --from-day is refused before any connection
    try:
        asyncio.run(_until_signalled(plant, feed, clock, args.once))
    except FeedError as exc:
        print(f"hpctl feed: {exc}", file=sys.stderr)
        return 1
    return 0


async def _until_signalled(plant: Plant, feed: Feed, clock: Clock, once: bool) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await run_feed(plant, feed, clock, stop, once)
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
    if stop.is_set():
        log.info("feed: stopped")
