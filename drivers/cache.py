"""The point cache that poll tasks fill, and the frozen `Snapshot` every control phase reads.

Quality is judged at the snapshot's time: a value older than its point's `max_age_s` is STALE,
a point whose device failed (or that was never read, or read as NaN) is BAD. A BAD reading
carries no value, so a stopped device can never leak its last value into a decision. A snapshot
keeps the cache's entries as they were when it was taken (entries are never changed, only
replaced) and judges a reading when it is asked for: a cycle asks for about half the points.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from drivers.pointmap import PointMap
from drivers.reading import BAD_READING, Quality, Reading


@dataclass(frozen=True, slots=True)
class _Entry:
    value: float | None
    read_at_s: float
    bad: bool


class PointCache:
    """Latest value per (device, point), written by the drivers; not shared across threads."""

    def __init__(self, maps: Mapping[str, PointMap]) -> None:
        self._maps = dict(maps)
        self._entries: dict[str, dict[str, _Entry]] = {device: {} for device in self._maps}
        self._max_age_s = MappingProxyType(
            {
                device: MappingProxyType({p.name: p.max_age_s for p in point_map.points})
                for device, point_map in self._maps.items()
            }
        )
        self._frozen_maps = MappingProxyType(dict(self._maps))

    @property
    def maps(self) -> Mapping[str, PointMap]:
        return MappingProxyType(self._maps)

    def update(self, device: str, point_name: str, value: float | None, read_at_s: float) -> None:
        """Store a value read at `read_at_s` (monotonic); None or NaN make the point BAD."""
        bad = value is None or not math.isfinite(value)
        self._device(device)[point_name] = _Entry(None if bad else value, read_at_s, bad)

    def mark_bad(self, device: str, point_names: Iterable[str] | None = None) -> None:
        """Make the named points (default: all of the device's points) BAD, dropping their value."""
        entries = self._device(device)
        names = (
            point_names if point_names is not None else [p.name for p in self._maps[device].points]
        )
        for name in names:
            previous = entries.get(name)
            read_at_s = previous.read_at_s if previous else float("-inf")
            entries[name] = _Entry(None, read_at_s, True)

    def confirm(self, device: str, read_at_s: float) -> None:
        """Vouch that the device's good values are still current (a live OPC UA subscription
        only reports changes, so silence means unchanged, not old)."""
        entries = self._device(device)
        for name, entry in entries.items():
            if not entry.bad and entry.read_at_s < read_at_s:
                entries[name] = _Entry(entry.value, read_at_s, False)

    def snapshot(self, now_utc: datetime, now_s: float) -> Snapshot:
        """A frozen process image with each reading's quality judged at `now_s`."""
        return Snapshot(
            now_utc=now_utc,
            taken_at_s=now_s,
            _entries={device: dict(entries) for device, entries in self._entries.items()},
            _max_age_s=self._max_age_s,
            _maps=self._frozen_maps,
        )

    def _device(self, device: str) -> dict[str, _Entry]:
        if device not in self._maps:
            raise KeyError(f"point cache: unknown device '{device}'")
        return self._entries[device]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A frozen process image: every control phase of one cycle sees the same readings."""

    now_utc: datetime
    taken_at_s: float
    _entries: Mapping[str, Mapping[str, _Entry]]  # copies: the cache's later updates not seen
    _max_age_s: Mapping[str, Mapping[str, float]]
    _maps: Mapping[str, PointMap]

    @property
    def devices(self) -> tuple[str, ...]:
        return tuple(self._maps)

    def point_map(self, device: str) -> PointMap:
        """The device's point map (KeyError for an unknown device)."""
        return self._maps[device]

    def get(self, device: str, point_name: str) -> Reading:
        """The named point's reading; BAD when never read or unknown."""
        entries = self._entries.get(device)
        entry = entries.get(point_name) if entries is not None else None
        if entry is None:
            return BAD_READING
        if entry.bad or entry.value is None:
            return Reading(None, entry.read_at_s, Quality.BAD)
        max_age_s = self._max_age_s[device].get(point_name, math.inf)
        stale = self.taken_at_s - entry.read_at_s > max_age_s
        return Reading(entry.value, entry.read_at_s, Quality.STALE if stale else Quality.GOOD)

    def has_role(self, device: str, role: str) -> bool:
        """Whether the device's map declares a point with this role."""
        point_map = self._maps.get(device)
        return point_map is not None and bool(point_map.role_points(role))

    def by_role(self, device: str, role: str, index: int | None = None) -> Reading:
        """The reading of the device's point with this role (and index, for repeated roles).

        Without `index` the role must be unique or the lowest index is taken. A role the map
        does not declare reads BAD, so optional roles need no special case in the controller.
        """
        point_map = self._maps.get(device)
        point = point_map.role_point(role, index) if point_map is not None else None
        if point is None:
            return BAD_READING
        return self.get(device, point.name)

    def all_by_role(self, device: str, role: str) -> list[Reading]:
        """Readings of every point with this role, ordered by index (tank layers bottom to top)."""
        point_map = self._maps.get(device)
        if point_map is None:
            return []
        return [self.get(device, p.name) for p in point_map.role_points(role)]

    def value(
        self, device: str, role: str, index: int | None = None, default: float | None = None
    ) -> float | None:
        """The role's value when GOOD, else `default` (`by_role(...).value` when `.good`,
        without building the Reading: the estimate asks for some forty values a cycle)."""
        point_map = self._maps.get(device)
        point = point_map.role_point(role, index) if point_map is not None else None
        if point is None:
            return default
        entry = self._entries[device].get(point.name)
        if entry is None or entry.bad or entry.value is None:
            return default
        if self.taken_at_s - entry.read_at_s > self._max_age_s[device].get(point.name, math.inf):
            return default
        return entry.value
