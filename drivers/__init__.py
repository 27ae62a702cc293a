"""Lowest layer: point maps, codecs, readings, the Clock, Modbus TCP and OPC UA clients."""
