"""Composition roots: the hpctl commands and the one lockstep loop that demo, evaluate, the SIL tests and the bench share."""
