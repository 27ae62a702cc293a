"""Username/password and ACL on a real Mosquitto: the controller and an operator get in, a
viewer may read but its requests never reach the controller, strangers are refused."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import aiomqtt
import pytest

from controller.config import ConfigError
from controller.runtime.dispatch import RulesPolicy
from controller.telemetry.audit import AuditStore, FanOut, read_audit
from controller.telemetry.mqtt import MqttBridge, OperatorDesk
from drivers.clock import SimClock
from tests.core.fakes import T0
from tests.ops.mosquitto import PREFIX, USERS, Broker
from tests.ops.mqtt_rig import client, controller, mqtt_plant, next_json

REQUEST = f"{PREFIX}/request"
REPLY = f"{PREFIX}/reply"


def _request(request_id: str) -> str:
    expires = (T0 + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    return json.dumps(
        {
            "id": request_id,
            "kind": "setpoint",
            "unit": "hp1",
            "heat_kw": 6000,
            "priority": 40,
            "expires_utc": expires,
        }
    )


async def test_password_file_and_acl(secured_broker: Broker, tmp_path: Path) -> None:
    password_file = tmp_path / "mqtt-password"
    password_file.write_text(USERS["hpctl"] + "\n")
    plant = mqtt_plant(secured_broker, username="hpctl", password_file=str(password_file))
    async with (
        controller(plant, SimClock(T0), tmp_path) as ctl,
        client(secured_broker, "viewer") as viewer,
        client(secured_broker, "operator") as operator,
        client(secured_broker, "market") as market,
    ):
        await viewer.subscribe(REPLY, qos=1)
        await operator.subscribe(REPLY, qos=1)
        # the broker acknowledges the viewer's publish but, by the ACL, delivers it to no one
        await viewer.publish(REQUEST, _request("from-viewer"), qos=1)
        await viewer.publish(f"{PREFIX}/market/prices", b'{"prices": []}', qos=1)
        await market.publish(REQUEST, _request("from-market"), qos=1)
        prices = {"prices": [{"start_utc": "2024-01-08T00:00:00Z", "price_eur_per_mwh": 42.0}]}
        await market.publish(f"{PREFIX}/market/prices", json.dumps(prices), qos=1)
        await operator.publish(REQUEST, _request("from-operator"), qos=1)
        answer = await next_json(operator, REPLY)
        assert answer["id"] == "from-operator"
        assert answer["accepted"] is True
        # the viewer may read the reply topic, and the first reply it sees is the operator's
        assert (await next_json(viewer, REPLY))["id"] == "from-operator"
        # only the market's prices and the operator's request got through
        assert ctl.bridge.stats.messages_received_total == 2
        assert ctl.bridge.stats.price_updates_total == 1
        assert ctl.bridge.stats.garbage_total == 0
        assert [r.request_id for r in ctl.desk.active] == ["from-operator"]
        assert ctl.audit.flush()
        requests = read_audit(ctl.audit.path, kinds=["request"])
        assert [row.detail["id"] for row in requests] == ["from-operator"]


@pytest.mark.parametrize(
    ("user", "password"), [("operator", "wrong-password"), ("nobody", "x"), (None, None)]
)
async def test_strangers_are_refused(
    secured_broker: Broker, user: str | None, password: str | None
) -> None:
    stranger = aiomqtt.Client(
        "127.0.0.1", secured_broker.port, username=user, password=password, timeout=10
    )
    with pytest.raises(aiomqtt.MqttCodeError, match=r"[Nn]ot authori[sz]ed"):
        async with stranger:
            pass


async def test_a_missing_password_file_is_a_config_error(
    secured_broker: Broker, tmp_path: Path
) -> None:
    plant = mqtt_plant(secured_broker, username="hpctl", password_file=str(tmp_path / "missing"))
    audit = AuditStore(tmp_path / "audit.sqlite3")
    desk = OperatorDesk(plant.site, RulesPolicy(), FanOut([audit]))
    with pytest.raises(ConfigError, match=r"control\.mqtt\.password_file"):
        MqttBridge(plant, SimClock(T0), desk)
    audit.close()
