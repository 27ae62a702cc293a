"""The pure core of the controller: estimate, plan building, staging and safety.

Nothing here does I/O: no asyncio, no protocol library, no wall clock. Every function takes
frozen inputs and returns frozen results, so the live controller, the simulator harness and the
offline evaluator call the same code.
"""
