"""The HTTP API and the operator page as one FastAPI application (docs/api.md).

Reads are open to whoever reaches the address (127.0.0.1 unless the plant file says otherwise);
writes need `Authorization: Bearer <token>`. A request taken here goes to the operator desk, the
same `submit` the MQTT bridge calls: the same validation (the pydantic models of
controller/runtime/requests.py), priority, expiry, caps, audit and persistence.

Handlers that touch the desk, the plan or the last report are `async`: they run on the
controller's event loop, between cycles, like the MQTT bridge. The audit reads are plain
functions, which FastAPI runs in its thread pool, so a long query never holds a cycle up.
"""

import hmac
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated

from fastapi import Body, Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AwareDatetime

from controller.api.models import (
    AnswerView,
    AuditView,
    OverrideView,
    PlanView,
    ProblemView,
    StateView,
)
from controller.api.views import iso_utc, override_view, plan_view, state_view
from controller.config import Plant
from controller.core.report import CycleReport
from controller.runtime.desk import Answer, OperatorDesk
from controller.runtime.planner import PlannerService
from controller.runtime.requests import CancelRequest, OperatorRequest
from controller.telemetry.audit import read_audit
from drivers.clock import Clock

API_VERSION = "1"
MAX_BODY_BYTES = 64 * 1024  # an operator request is a few hundred bytes
AUDIT_LIMIT_MAX = 5_000
# what an operator wants to see happen, not every write: the MQTT events topic's kinds plus
# the overrides restored on start and the shutdown
EVENT_KINDS = (
    "interlock",
    "fallback",
    "handback",
    "override_expired",
    "override_released",
    "override_restored",
    "unit_trip",
    "unit_trip_reset",
    "policy_error",
    "policy_recovered",
    "shutdown",
)
_INVALID: dict[int | str, dict[str, object]] = {
    422: {"model": ProblemView, "description": "a field is invalid: `detail` names it"}
}
_WRITE: dict[int | str, dict[str, object]] = {
    **_INVALID,
    401: {"model": ProblemView, "description": "no valid bearer token"},
    403: {"model": ProblemView, "description": "no token is configured: writes are off"},
}
_TAG_ERRORS = ("union_tag_invalid", "union_tag_not_found")
_STATIC = resources.files("controller.api") / "static"
_PAGE_FILES = {"page.js": "text/javascript", "page.css": "text/css"}


@dataclass
class ApiContext:
    """What the API reads and where it posts; `latest` is the last cycle's report."""

    plant: Plant
    desk: OperatorDesk
    planner: PlannerService | None
    audit_path: Path
    clock: Clock
    latest: Callable[[], CycleReport | None]
    token: str | None  # None: no token configured, every write is refused


def _problem(status: int, detail: str, errors: list[dict[str, str]] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail, "errors": errors or []}, status_code=status)


def _field_of(loc: tuple[object, ...]) -> str:
    """`("body", "curtail", "max_power_kw")` -> `max_power_kw`; `("query", "limit")` -> `limit`."""
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    kinds = ("manual", "auto", "setpoint", "curtail", "boost", "cancel")
    if len(parts) > 1 and parts[0] in kinds:  # the union's tag: the kind the body claimed
        parts = parts[1:]
    return ".".join(parts) or "body"


def _answer_json(answer: Answer, status: int) -> JSONResponse:
    return JSONResponse(answer.payload(), status_code=status)


def _status_of(answer: Answer) -> int:
    if answer.accepted:
        return 200
    return 422 if answer.invalid else 409


def build_app(ctx: ApiContext) -> FastAPI:
    app = FastAPI(
        title="hpctl API",  # the same schema for every plant: docs/api-openapi.json
        version=API_VERSION,
        description="State, plan, overrides, events and audit of one plant; operator requests.",
        # Swagger UI and ReDoc load their scripts from a CDN, which a plant's edge PC cannot
        # reach: the schema is served, a browsable UI is not
        docs_url=None,
        redoc_url=None,
    )
    bearer = HTTPBearer(auto_error=False, description="the token named in [control.api]")

    @app.middleware("http")
    async def _limit_body(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if request.method in ("POST", "PUT", "PATCH"):
            length = request.headers.get("content-length")
            if length is None:
                return _problem(411, "Content-Length is required")
            if not length.isdigit() or int(length) > MAX_BODY_BYTES:
                return _problem(413, f"body of {length} bytes: at most {MAX_BODY_BYTES}")
        return await call_next(request)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                # a missing or unknown `kind` is reported on the whole body: it is the field
                "field": "kind" if e["type"] in _TAG_ERRORS else _field_of(tuple(e["loc"])),
                "message": str(e["msg"]),
            }
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        if request.url.path == "/api/v1/requests" and _authorised(request, ctx.token):
            # an authorised sender's bad request is audited as received, as the desk does
            raw = (await request.body()).decode("utf-8", "replace")
            ctx.desk.reject(None, raw, detail, ctx.clock.now())
        return _problem(422, detail, errors)

    def writer(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> None:
        if ctx.token is None:
            raise HTTPException(
                403,
                "writes are off: no API token is configured ([control.api] token_file, or the "
                f"environment variable {ctx.plant.control.api.token_env})",
            )
        if credentials is None or not hmac.compare_digest(
            credentials.credentials.encode(), ctx.token.encode()
        ):
            raise HTTPException(
                401,
                "a valid 'Authorization: Bearer <token>' header is required for writes",
                headers={"WWW-Authenticate": "Bearer"},
            )

    @app.get(
        "/api/v1/state",
        response_model=StateView,
        responses={503: {"model": ProblemView, "description": "no cycle yet"}},
    )
    async def get_state() -> StateView | JSONResponse:
        """The last control cycle: units, tank, boiler, dispatch rung and why, overrides."""
        report = ctx.latest()
        if report is None:
            return _problem(503, "no control cycle has run yet")
        planner = ctx.planner
        return state_view(
            report,
            ctx.plant,
            ctx.desk.active,
            planner.current if planner is not None else None,
            planner.last_attempt if planner is not None else None,
            writes_enabled=ctx.token is not None,
        )

    @app.get(
        "/api/v1/plan",
        response_model=PlanView,
        responses={404: {"model": ProblemView, "description": "no plan"}},
    )
    async def get_plan() -> PlanView | JSONResponse:
        """The plan in use: per step and unit the heat and the electric power planned."""
        if ctx.planner is None:
            return _problem(
                404, f"no planner: the plant file sets policy = '{ctx.plant.control.policy}'"
            )
        plan = ctx.planner.current
        if plan is None:
            return _problem(404, "no plan yet: the planner has not solved one")
        return plan_view(plan)

    @app.get("/api/v1/overrides", response_model=list[OverrideView])
    async def get_overrides() -> list[OverrideView]:
        """The operator requests in force, each with its priority and expiry."""
        ctx.desk.expire(ctx.clock.now())
        return [override_view(r) for r in ctx.desk.active]

    @app.post(
        "/api/v1/requests",
        response_model=AnswerView,
        dependencies=[Depends(writer)],
        responses={**_WRITE, 409: {"model": AnswerView, "description": "refused by the desk"}},
    )
    async def post_request(
        request: Annotated[OperatorRequest, Body(description="as on the MQTT request topic")],
    ) -> JSONResponse:
        """Submit an operator request (manual, auto, setpoint, curtail, boost, cancel)."""
        answer = ctx.desk.submit(request, ctx.clock.now())
        return _answer_json(answer, _status_of(answer))

    @app.delete(
        "/api/v1/overrides/{request_id}",
        response_model=AnswerView,
        dependencies=[Depends(writer)],
        responses={
            **_WRITE,
            404: {"model": AnswerView, "description": "no such request in force"},
            409: {"model": AnswerView, "description": "refused: its priority is higher"},
        },
    )
    async def cancel_override(
        request_id: str,
        # not the requests' strict Priority: a query string's number is text until read
        priority: Annotated[int, Query(ge=0, le=100, description="this cancel's priority")],
        operator: Annotated[str, Query(max_length=64)] = "",
    ) -> JSONResponse:
        """Cancel a request in force: a cancel request, which needs at least its priority."""
        now = ctx.clock.now()
        held = ctx.desk.book.get(request_id) is not None
        try:
            cancel = CancelRequest(
                id=f"http-cancel-{uuid.uuid4().hex[:12]}",
                kind="cancel",
                priority=priority,
                operator=operator,
                target_id=request_id,
            )
        except ValueError as exc:
            return _problem(422, f"request_id: {exc}")
        answer = ctx.desk.submit(cancel, now)
        return _answer_json(answer, _status_of(answer) if held or answer.accepted else 404)

    @app.get("/api/v1/events", response_model=list[AuditView], responses=_INVALID)
    def get_events(
        limit: Annotated[int, Query(ge=1, le=AUDIT_LIMIT_MAX)] = 100,
    ) -> list[AuditView]:
        """The newest events an operator acts on (fallbacks, interlocks, trips, overrides)."""
        return _audit(ctx.audit_path, None, None, EVENT_KINDS, limit)

    @app.get("/api/v1/audit", response_model=list[AuditView], responses=_INVALID)
    def get_audit(
        since: Annotated[AwareDatetime | None, Query(description="RFC 3339 with offset")] = None,
        kind: Annotated[list[str] | None, Query(description="repeat for several")] = None,
        equipment: Annotated[str | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=AUDIT_LIMIT_MAX)] = 200,
    ) -> list[AuditView]:
        """Audit rows, oldest first: the newest `limit` from `since`, of `kind`, for `equipment`."""
        return _audit(ctx.audit_path, since, equipment, tuple(kind or ()), limit)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> HTMLResponse:
        return HTMLResponse((_STATIC / "index.html").read_text(encoding="utf-8"))

    @app.get("/static/{name}", include_in_schema=False)
    async def static(name: str) -> Response:
        if name not in _PAGE_FILES:
            return _problem(404, f"no such file: {name}")
        text = (_STATIC / name).read_text(encoding="utf-8")
        return Response(text, media_type=_PAGE_FILES[name])

    return app


def _authorised(request: Request, token: str | None) -> bool:
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    return (
        token is not None
        and scheme.lower() == "bearer"
        and hmac.compare_digest(given.strip().encode(), token.encode())
    )


def _audit(
    path: Path,
    since: AwareDatetime | None,
    equipment: str | None,
    kinds: tuple[str, ...],
    limit: int,
) -> list[AuditView]:
    if not path.exists():  # nothing recorded yet
        return []
    rows = read_audit(path, since_utc=since, equipment=equipment, kinds=kinds, limit=limit)
    return [
        AuditView(id=r.id, at_utc=r.at_utc, kind=r.kind, equipment=r.equipment, detail=r.detail)
        for r in rows
    ]


__all__ = ["EVENT_KINDS", "ApiContext", "build_app", "iso_utc"]
