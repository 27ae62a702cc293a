"""`hpctl audit [--plant FILE | --db FILE] [--since ISO] [--unit NAME] [--kind K] [--json]`.

Prints the audit store one event a line, oldest first: time (UTC), kind, equipment, detail.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path

from controller.app import cli_args
from controller.config import load_plant
from controller.telemetry.audit import AUDIT_FILE, read_audit

KINDS = (
    "write",
    "write_error",
    "request",
    "answer",
    "override_expired",
    "override_released",
    "plan",
    "interlock",
    "fallback",
    "recovery",  # back up the dispatch ladder (rules -> plan)
    "handback",
    "mqtt_garbage",  # bad MQTT messages, aggregated per topic (controller.telemetry.mqtt.garbage)
)


def _since(text: str) -> datetime:
    return cli_args.timestamp(text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--plant", type=Path, help="plant file (its data_dir holds the store)")
    where.add_argument("--db", type=Path, help=f"an audit store file ({AUDIT_FILE})")
    parser.add_argument(
        "--since",
        type=_since,
        help="from this time on: ISO 8601 with Z or an offset, or a date (midnight UTC)",
    )
    parser.add_argument("--unit", help="only events of this unit (or other equipment)")
    parser.add_argument(
        "--kind", action="append", choices=KINDS, help="only this kind (repeatable)"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object a line")


def store_path(plant_file: Path) -> Path:
    plant = load_plant(plant_file)
    data_dir = Path(plant.control.data_dir)
    if not data_dir.is_absolute():
        data_dir = plant.path.parent / data_dir
    return data_dir.resolve() / AUDIT_FILE


def run(args: argparse.Namespace) -> int:
    path: Path = args.db if args.db is not None else store_path(args.plant)
    try:
        rows = read_audit(path, since_utc=args.since, equipment=args.unit, kinds=args.kind or ())
    except FileNotFoundError as exc:
        print(f"hpctl audit: {exc}", file=sys.stderr)
        return 2
    out = sys.stdout
    for row in rows:
        if args.json:
            record = {
                "id": row.id,
                "at_utc": row.at_utc,
                "kind": row.kind,
                "equipment": row.equipment,
                "detail": row.detail,
            }
            out.write(json.dumps(record, sort_keys=True) + "\n")
        else:
            detail = json.dumps(row.detail, sort_keys=True, separators=(", ", ": "))
            out.write(f"{row.at_utc}  {row.kind:<17} {row.equipment or '-':<10} {detail}\n")
    if not args.json:
        print(f"{len(rows)} event(s) in {path}", file=sys.stderr)
    return 0
