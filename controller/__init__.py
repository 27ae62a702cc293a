"""The supervisor: config, estimate, plan, stage, safety, the control cycle, telemetry, CLI."""
