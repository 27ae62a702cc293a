"""Chaos campaigns of `make chaos`: fuzzing of every input the controller reads (`fuzz`)."""
