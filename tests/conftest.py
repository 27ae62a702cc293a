"""Settings for the whole suite."""

from hypothesis import HealthCheck, settings

# No timed assertions: Hypothesis's per-example deadline (200 ms) failed a codec property test
# on a loaded machine (515 ms for one example). Speed is measured by `make bench`, not here.
settings.register_profile("hpctl", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("hpctl")
