"""How long the controller has not seen its tank: the clock behind the hand-back (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from controller.core.estimate import PlantState


@dataclass(frozen=True, slots=True)
class TankBlindTimer:
    """Since when the tanks' state of charge has been unknown; carried from cycle to cycle.

    Safety hands the plant back to local control once the tank has been blind for longer than
    its limit: one cycle with good tank data restarts the count.
    """

    since_s: float | None = None

    def after(self, state: PlantState) -> TankBlindTimer:
        """The timer once this cycle's state is known."""
        if state.soc is not None:
            return TankBlindTimer()
        return self if self.since_s is not None else TankBlindTimer(state.now_s)

    def blind_for_s(self, now_s: float) -> float:
        return 0.0 if self.since_s is None else now_s - self.since_s
