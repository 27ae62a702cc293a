"""Moved: the learned forecaster is the controller's own, `controller.core.forecaster`, owned by
`PlannerService` live and in the replay alike. This name stays for code written against it."""

from controller.core.forecaster import WINDOW_H, Forecaster, LookaheadError

__all__ = ["WINDOW_H", "Forecaster", "LookaheadError"]
