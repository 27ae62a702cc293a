"""MQTT: the bridge to SCADA and other systems, operator overrides, market updates."""

from controller.runtime.desk import Answer, OperatorDesk
from controller.telemetry.mqtt.bridge import BridgeStats, MqttBridge, Topics, topics_for
from controller.telemetry.mqtt.market import MqttMarket

__all__ = [
    "Answer",
    "BridgeStats",
    "MqttBridge",
    "MqttMarket",
    "OperatorDesk",
    "Topics",
    "topics_for",
]
