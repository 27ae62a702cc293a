"""Audited facts and where they go: the sink every decision-maker records to, whatever stores it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One audited fact. `kind` is a short stable key; `detail` is JSON-serialisable."""

    at_utc: datetime
    kind: str
    equipment: str | None
    detail: dict[str, object] = field(default_factory=dict)


class EventSink(Protocol):
    def record(self, event: AuditEvent) -> None: ...
