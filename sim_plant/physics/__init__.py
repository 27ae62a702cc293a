"""Physics of the simulated plant: heat-pump units, valves, stratified tanks, boiler, network."""

from sim_plant.physics.model import Boundary, PlantModel, PlantTotals

__all__ = ["Boundary", "PlantModel", "PlantTotals"]
