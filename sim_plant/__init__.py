"""Software-in-the-loop plant: numpy physics, scenarios, faults, Modbus and OPC UA servers."""
