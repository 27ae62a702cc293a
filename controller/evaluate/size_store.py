"""The sweep's results on disk: one JSON line per finished point, appended as it arrives.

A line carries the point's sizes, the hash of every other input and the replay's figures. A
sweep started again reads the file and replays only the points with no line for the same
sizes and inputs. A line cut short by a stop (the last one, half written) is ignored, and so
are lines for other inputs: they stay in the file, so going back to those inputs finds them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from controller.evaluate.size_point import Replayed, SizePoint

POINTS_FILE = "points.jsonl"


def _point(raw: dict[str, Any]) -> SizePoint:
    boiler = raw["boiler_mw"]
    return SizePoint(
        heat_pump_mw=float(raw["heat_pump_mw"]),
        tank_m3=float(raw["tank_m3"]),
        boiler_mw=None if boiler is None else float(boiler),
    )


class PointStore:
    """`out_dir/points.jsonl` for one inputs hash."""

    def __init__(self, out_dir: Path, inputs_hash: str) -> None:
        self.path = out_dir / POINTS_FILE
        self.inputs_hash = inputs_hash

    def load(self) -> dict[SizePoint, Replayed]:
        """The finished points for this store's inputs (a later line for a point wins)."""
        found: dict[SizePoint, Replayed] = {}
        if not self.path.exists():
            return found
        with self.path.open(encoding="utf-8") as lines:
            for line in lines:
                try:
                    raw = json.loads(line)
                    if raw.get("inputs") != self.inputs_hash:
                        continue
                    found[_point(raw["point"])] = Replayed.from_dict(raw["replayed"])
                except (ValueError, KeyError, TypeError):
                    continue  # a line cut short by a stop: its point is replayed again
        return found

    def append(self, point: SizePoint, replayed: dict[str, Any]) -> None:
        """Write one finished point, flushed to disk before the next is taken."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(
            {
                "inputs": self.inputs_hash,
                "point": {
                    "heat_pump_mw": point.heat_pump_mw,
                    "tank_m3": point.tank_m3,
                    "boiler_mw": point.boiler_mw,
                },
                "replayed": replayed,
            },
            sort_keys=True,
        )
        with self.path.open("a", encoding="utf-8") as out:
            # a previous run stopped mid-line: start on a line of our own
            if out.tell() > 0 and not self._ends_with_newline():
                out.write("\n")
            out.write(line + "\n")
            out.flush()
            os.fsync(out.fileno())

    def _ends_with_newline(self) -> bool:
        with self.path.open("rb") as raw:
            raw.seek(-1, os.SEEK_END)
            return raw.read(1) == b"\n"
