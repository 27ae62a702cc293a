"""Fixtures shared by the operations tests (MQTT, audit, metrics): each area keeps its own file."""

from tests.ops.mosquitto import broker, secured_broker

__all__ = ["broker", "secured_broker"]
