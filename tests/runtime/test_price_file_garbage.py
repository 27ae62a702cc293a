"""A live price file that turns into garbage never stops the controller: whatever the file
holds, the market keeps the last good prices and counts the rejection."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from controller.runtime.market import FileMarket

NOON = time(12, 0)
CPH = "Europe/Copenhagen"
START = datetime(2024, 1, 1, tzinfo=UTC)
GOOD = "timestamp_utc,price_eur_per_mwh\n" + "".join(
    f"{START + timedelta(hours=h):%Y-%m-%dT%H:%MZ},{h}\n" for h in range(48)
)


def _replace(path: Path, content: bytes | None, stamp: int) -> None:
    """Put `content` (None: a directory) at `path` with a new modification time."""
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    os.utime(path, ns=(1, stamp * 10**18))  # newer, whatever the file system's resolution


def test_garbage_in_a_live_price_file_keeps_the_last_good_prices(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_text(GOOD)
    market = FileMarket(path, NOON, CPH)
    now = START + timedelta(hours=12)
    hour = START + timedelta(hours=5)
    assert market.prices(now)[0][hour] == 5.0
    garbage: list[bytes | None] = [
        b'timestamp_utc,price_eur_per_mwh\n2024-01-01T00:00Z,"' + b"9" * 140_000 + b'"\n',
        b"timestamp_utc,price_eur_per_mwh\n2024-01-01T00:00Z,1e300\n",
        b"timestamp_utc,price_eur_per_mwh\n2024-01-01T00:00Z,-1e308\n",
        b"timestamp_utc,price_eur_per_mwh\n2024-01-01T00:00Z,50,5\n",
        bytes(range(256)) * 4,
        None,  # the file replaced by a directory
    ]
    for count, content in enumerate(garbage, start=1):
        _replace(path, content, count)
        assert market.prices(now)[0][hour] == 5.0
        assert market.errors_total == count
