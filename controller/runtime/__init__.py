"""The shell that runs one plant: the cycle, dispatch policies and operator desk, planner service, outputs, persistence, market feeds."""
