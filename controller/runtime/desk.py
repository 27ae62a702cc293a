"""The operator desk: takes operator requests, answers them, and applies the active ones.

It wraps the dispatch policy (plan follower or rules) as the cycle's `TargetPolicy`, so that
overrides act on the targets, before staging and safety. Every request and its answer, every
release and every expiry goes to the event sink (the audit store, the bridge's event topic).
Expiry is checked against the snapshot time of each cycle: an expired request drops out by
itself, in the first cycle at or after its expiry.

With a state store the requests in force are saved whenever they change and restored on start
with their original expiry (`restore`); one that expired while the controller was stopped is
released then, audited as such. Caps on the requests in force (per operator and in total) keep
one runaway client from filling the book and the retained state.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from controller.config import OverridesConfig
from controller.core.commands import Targets
from controller.core.events import AuditEvent, EventSink
from controller.core.overrides import (
    OverrideBook,
    OverrideRequest,
    apply_overrides,
    check_request,
)
from controller.core.situation import Situation
from controller.runtime.dispatch import TargetPolicy
from controller.runtime.requests import (
    AutoRequest,
    BoostRequest,
    CancelRequest,
    CurtailRequest,
    ManualRequest,
    SetpointRequest,
)
from controller.runtime.state_store import StateStore
from drivers.site import SiteConfig

log = logging.getLogger(__name__)

Request = (
    ManualRequest | AutoRequest | SetpointRequest | CurtailRequest | BoostRequest | CancelRequest
)


@dataclass(frozen=True, slots=True)
class Answer:
    """What the operator is told on the reply topic."""

    request_id: str | None
    accepted: bool
    reason: str
    at_utc: datetime
    invalid: bool = False  # the request itself was bad (schema, range, unit), not just refused
    # accepted, but it competes with a request in force at the same priority (boost vs curtail)
    warning: str | None = None

    def payload(self) -> dict[str, object]:
        return {
            "id": self.request_id,
            "accepted": self.accepted,
            "reason": self.reason,
            "warning": self.warning,
            # the bridge's one time format (telemetry.mqtt.payloads.TIME_FORMAT)
            "at_utc": self.at_utc.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }


def _override(
    request: ManualRequest | SetpointRequest | CurtailRequest | BoostRequest, now_utc: datetime
) -> OverrideRequest:
    return OverrideRequest(
        request_id=request.id,
        kind=request.kind,
        priority=request.priority,
        expires_utc=request.expires_utc.astimezone(UTC),
        received_utc=now_utc,
        operator=request.operator,
        unit=request.unit if isinstance(request, ManualRequest | SetpointRequest) else None,
        on=request.on if isinstance(request, ManualRequest) else None,
        heat_kw=request.heat_kw if isinstance(request, ManualRequest | SetpointRequest) else None,
        max_power_kw=request.max_power_kw if isinstance(request, CurtailRequest) else None,
        min_heat_kw=request.min_heat_kw if isinstance(request, BoostRequest) else None,
    )


class OperatorDesk:
    """A `TargetPolicy` around the dispatch policy, plus the book of operator requests."""

    def __init__(
        self,
        site: SiteConfig,
        inner: TargetPolicy,
        sink: EventSink,
        store: StateStore | None = None,
        caps: OverridesConfig | None = None,
    ) -> None:
        self._site = site
        self._inner = inner
        self._sink = sink
        self._store = store
        self._caps = caps or OverridesConfig()
        self._inner_previous: Targets | None = None
        self.book = OverrideBook()

    def restore(self, now_utc: datetime) -> tuple[OverrideRequest, ...]:
        """Take back the saved requests: those still in force keep their original expiry;
        those that expired while stopped (or that the plant file no longer allows) are
        released, each audited. Returns the restored ones."""
        if self._store is None:
            return ()
        restored: list[OverrideRequest] = []
        for request in self._store.load_overrides():
            if self.book.get(request.request_id) is not None:
                continue
            why: str | None = None
            if request.expires_utc <= now_utc:
                why = "expired while stopped"
            elif (invalid := check_request(request, self._site, now_utc)) is not None:
                why = f"no longer valid: {invalid}"  # the plant file changed while stopped
            if why is not None:
                log.warning("operator override not restored (%s): %s", why, request.describe())
                self._sink.record(
                    AuditEvent(
                        now_utc,
                        "override_released",
                        request.unit,
                        {
                            "id": request.request_id,
                            "kind": request.kind,
                            "operator": request.operator,
                            "reason": why,
                            "expires_utc": request.expires_utc.isoformat(),
                        },
                    )
                )
                continue
            self.book = self.book.add(request)
            restored.append(request)
            log.info("operator override restored: %s", request.describe())
            self._sink.record(
                AuditEvent(
                    now_utc,
                    "override_restored",
                    request.unit,
                    {
                        "id": request.request_id,
                        "kind": request.kind,
                        "operator": request.operator,
                        "priority": request.priority,
                        "received_utc": request.received_utc.isoformat(),
                        "expires_utc": request.expires_utc.isoformat(),
                    },
                )
            )
        self._save(now_utc)  # the released ones leave the store too
        return tuple(restored)

    def _save(self, now_utc: datetime) -> str | None:
        """Save the book; None when saved (or there is no store), else why not."""
        if self._store is None:
            return None
        return self._store.save_overrides(self.book.requests, now_utc)

    def _over_cap(self, request: OverrideRequest) -> str | None:
        """Why taking `request` would hold more requests than the caps allow, or None."""
        held = self.book.requests
        if len(held) >= self._caps.max_total:
            return (
                f"the plant already holds {len(held)} active requests, the most allowed "
                "([control.overrides] max_total): cancel one or wait for one to expire"
            )
        mine = sum(1 for r in held if r.operator == request.operator)
        if mine >= self._caps.max_per_operator:
            who = (
                f"operator '{request.operator}'"
                if request.operator
                else "the unnamed operator (no `operator` field)"
            )
            return (
                f"{who} already holds {mine} active requests, the most one operator may "
                "([control.overrides] max_per_operator): cancel one or wait for one to expire"
            )
        return None

    @property
    def active(self) -> tuple[OverrideRequest, ...]:
        return self.book.requests

    def submit(self, request: Request, now_utc: datetime) -> Answer:
        """Check a request against the plant and the book; take it or say why not."""
        self.expire(now_utc)
        self._sink.record(
            AuditEvent(
                now_utc, "request", getattr(request, "unit", None), request.model_dump(mode="json")
            )
        )
        conflicts = self._conflicts(request)
        accepted, reason, invalid = self._decide(request, now_utc)
        unit = getattr(request, "unit", None)
        warning = None
        if accepted and conflicts:
            warning = (
                f"conflicts with {'; '.join(r.describe() for r in conflicts)} at the same "
                f"priority {request.priority}: the newest request wins while both are in force; "
                "cancel one, or give the one that must win a higher priority"
            )
        return self._answer(request.id, unit, accepted, reason, now_utc, invalid, warning)

    def _conflicts(self, request: Request) -> list[OverrideRequest]:
        """Requests in force that `request` would compete with at the same priority: a boost
        and a curtail (the plant's heat floor against its power cap), or two different
        requests for the same unit. Only one of them acts, silently, unless we say so."""
        if isinstance(request, AutoRequest | CancelRequest):
            return []
        unit = getattr(request, "unit", None)
        return [
            held
            for held in self.book.requests
            if held.priority == request.priority
            and held.request_id != request.id
            and (
                (unit is None and held.unit is None and held.kind != request.kind)
                or (unit is not None and held.unit == unit)
            )
        ]

    def reject(self, request_id: str | None, raw: str, reason: str, now_utc: datetime) -> Answer:
        """A request that could not even be read: audited as received, answered with why."""
        self._sink.record(AuditEvent(now_utc, "request", None, {"raw": raw[:2000]}))
        return self._answer(request_id, None, False, reason, now_utc, invalid=True)

    def _answer(
        self,
        request_id: str | None,
        unit: str | None,
        accepted: bool,
        reason: str,
        now: datetime,
        invalid: bool,
        warning: str | None = None,
    ) -> Answer:
        answer = Answer(request_id, accepted, reason, now, invalid, warning)
        self._sink.record(AuditEvent(now, "answer", unit, answer.payload()))
        log.info(
            "operator request %s %s: %s", request_id, "accepted" if accepted else "rejected", reason
        )
        if warning is not None:
            log.warning("operator request %s: %s", request_id, warning)
        return answer

    def _decide(self, request: Request, now_utc: datetime) -> tuple[bool, str, bool]:
        """(accepted, reason, the request itself was invalid)."""
        if self.book.get(request.id) is not None:
            return False, f"request id {request.id} is already active", False
        if isinstance(request, AutoRequest):
            if request.unit not in {spec.name for spec in self._site.units}:
                return False, f"unknown unit '{request.unit}'", True
            return (*self._release(request, now_utc), False)
        if isinstance(request, CancelRequest):
            return (*self._cancel(request, now_utc), False)
        override = _override(request, now_utc)
        why_not = check_request(override, self._site, now_utc)
        if why_not is not None:
            return False, why_not, True
        over_cap = self._over_cap(override)
        if over_cap is not None:
            return False, over_cap, False
        self.book = self.book.add(override)
        not_saved = self._save(now_utc)
        # the operator must know when a restart would lose what was just accepted
        unsaved = "" if not_saved is None else f" (not saved, a restart would lose it: {not_saved})"
        per_unit, plant = self.book.winners(now_utc)
        winner = per_unit.get(override.unit) if override.unit is not None else plant
        if winner is not None and winner is not override:
            return True, f"accepted; outranked for now by {winner.describe()}{unsaved}", False
        return True, f"accepted: {override.describe()}{unsaved}", False

    def _release(self, request: AutoRequest, now_utc: datetime) -> tuple[bool, str]:
        released = self.book.unit_requests(request.unit, request.priority)
        self.book = self.book.without({r.request_id for r in released})
        if released:
            self._save(now_utc)
        for old in released:
            self._sink.record(
                AuditEvent(
                    now_utc,
                    "override_released",
                    old.unit,
                    {"id": old.request_id, "by": request.id, "kind": old.kind},
                )
            )
        higher = [r for r in self.book.requests if r.unit == request.unit]
        if higher:
            return True, f"released {len(released)}; still held by {higher[0].describe()}"
        return True, f"{request.unit} back to automatic (released {len(released)})"

    def _cancel(self, request: CancelRequest, now_utc: datetime) -> tuple[bool, str]:
        target = self.book.get(request.target_id)
        if target is None:
            return False, f"no active request {request.target_id}"
        if target.priority > request.priority:
            return False, (
                f"request {request.target_id} has priority {target.priority} "
                f"above this cancel's {request.priority}"
            )
        self.book = self.book.without({target.request_id})
        self._save(now_utc)
        self._sink.record(
            AuditEvent(
                now_utc,
                "override_released",
                target.unit,
                {"id": target.request_id, "by": request.id, "kind": target.kind},
            )
        )
        return True, f"cancelled {target.describe()}"

    def expire(self, now_utc: datetime) -> tuple[OverrideRequest, ...]:
        """Drop requests whose expiry has come; each expiry is recorded."""
        expired = self.book.expired(now_utc)
        if expired:
            self.book = self.book.without({r.request_id for r in expired})
            self._save(now_utc)
        for request in expired:
            log.info("operator override expired: %s", request.describe())
            self._sink.record(
                AuditEvent(
                    now_utc,
                    "override_expired",
                    request.unit,
                    {"id": request.request_id, "kind": request.kind, "operator": request.operator},
                )
            )
        return expired

    def targets(self, situation: Situation, previous: Targets | None) -> Targets:
        self.expire(situation.state.now_utc)
        # the policy sees its own last targets, not the overridden ones: when an override ends
        # the plant returns to what the policy itself would be doing
        inner = self._inner.targets(situation, self._inner_previous)
        self._inner_previous = inner
        return apply_overrides(inner, situation, self.book)
