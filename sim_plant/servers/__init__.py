"""The simulated plant's Modbus TCP and OPC UA servers, built from the same point maps."""

from sim_plant.servers.modbus_server import ModbusPlantServer
from sim_plant.servers.model_api import CommFaults, ServedModel
from sim_plant.servers.opcua_server import OpcUaPlantServer
from sim_plant.servers.plant_servers import PlantServers

__all__ = ["CommFaults", "ModbusPlantServer", "OpcUaPlantServer", "PlantServers", "ServedModel"]
