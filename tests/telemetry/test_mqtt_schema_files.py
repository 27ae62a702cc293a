"""docs/mqtt-schemas/*.json are the schemas the payload models generate: a payload field added
or changed without regenerating them (`python -m controller.telemetry.mqtt.schemas
docs/mqtt-schemas`) fails here. tests/ops/test_mqtt_payload_schemas.py checks real published
payloads against the same models."""

from __future__ import annotations

import json
from pathlib import Path

from controller.telemetry.mqtt.schemas import render, schemas

FOLDER = Path(__file__).resolve().parents[2] / "docs" / "mqtt-schemas"


def test_the_schema_files_are_the_generated_ones() -> None:
    expected = schemas()
    on_disk = {path.stem: path for path in FOLDER.glob("*.json")}
    assert set(on_disk) == set(expected)
    for name, schema in expected.items():
        assert on_disk[name].read_text(encoding="utf-8") == render(schema), name


def test_every_published_topic_is_documented_with_its_schema() -> None:
    doc = (FOLDER.parent / "mqtt.md").read_text(encoding="utf-8")
    for name in schemas():
        assert f"mqtt-schemas/{name}.json" in doc, name
    for name, schema in schemas().items():
        assert json.loads(render(schema)) == schema, name
