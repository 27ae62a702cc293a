"""`hpctl sim --control-port N`: a small JSON-over-HTTP API to fault the running plant and watch it.

Bound to 127.0.0.1 only (port 0: a free port, printed in the banner). Standard library only:
asyncio streams, one request per connection (`Connection: close`), bodies up to 64 KiB.

    GET    /state          the plant's physical truth (sim_plant.plant_state) and active faults
    GET    /faults         {"now_utc", "active": [...], "pending": [...], "history": [...]}
    POST   /faults         inject now; body {"kind", "device", "role"?, "index"?, "duration_s"?,
                           "alarm_code"?} (as a schedule entry without "at"); 201 with the fault
    DELETE /faults/ID      clear one active fault; 200 with it, 404 if no active fault has ID
    POST   /faults/clear   clear every active fault (pending schedule entries stay); 200

A fault is {"id", "kind", "device", "role"?, "index"?, "duration_s"?, "alarm_code"?, "source"
("api" or "schedule"), "started_utc", "ends_utc", "ended_utc", "end_reason" ("expired",
"cleared", "replaced", "instant" for a trip)}; times are simulated UTC and `duration_s` counts
simulated seconds. Kinds: unit_trip, comm_drop, sensor_stuck, sensor_nan, valve_stuck.
A bad request gets 400 and {"error": "..."} naming the field; the servers show an injected fault
before the reply goes out.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from types import TracebackType

from sim_plant.fault_book import FaultBook, FaultRequestError
from sim_plant.fault_schedule import parse_fault_spec
from sim_plant.plant_state import plant_state

CONTROL_HOST = "127.0.0.1"  # fault injection has no authentication: never on another interface
MAX_BODY_BYTES = 64 * 1024
MAX_LINE_BYTES = 8 * 1024
MAX_HEADERS = 100
REQUEST_TIMEOUT_S = 10.0  # a client that stalls mid-request is dropped, not waited on forever
_log = logging.getLogger(__name__)
ROUTES = {"/state": "GET", "/faults": "GET, POST", "/faults/clear": "POST", "/faults/ID": "DELETE"}


class HttpError(Exception):
    def __init__(self, status: HTTPStatus, message: str, allow: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.allow = allow


Reply = tuple[HTTPStatus, object]


class FaultControlServer:
    """The control endpoint of one simulated plant; an async context manager.

    `on_change` runs after every fault change, before the reply (the runner passes the servers'
    sync, so a trip shows on Modbus and OPC UA as soon as the client has its answer).
    """

    def __init__(
        self, book: FaultBook, on_change: Callable[[], Awaitable[None]], port: int = 0
    ) -> None:
        self._book = book
        self._on_change = on_change
        self._requested_port = port
        self._server: asyncio.Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://{CONTROL_HOST}:{self.port}"

    async def __aenter__(self) -> FaultControlServer:
        self._server = await asyncio.start_server(
            self._serve, CONTROL_HOST, self._requested_port, limit=MAX_LINE_BYTES
        )
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                async with asyncio.timeout(REQUEST_TIMEOUT_S):
                    method, path, body = await _read_request(reader)
                status, payload = await self._route(method, path, body)
                allow = None
            except HttpError as exc:
                status, payload, allow = exc.status, {"error": str(exc)}, exc.allow
            except TimeoutError:
                return
            except (ConnectionError, asyncio.IncompleteReadError):
                raise
            except Exception:  # a defect here must not end the simulator; the client hears of it
                _log.exception("the fault control endpoint failed on a request")
                status, payload, allow = (
                    HTTPStatus.INTERNAL_SERVER_ERROR,
                    {"error": "internal error in the simulator; see its log"},
                    None,
                )
            writer.write(_response(status, payload, allow))
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return  # the client went away; nothing to answer
        finally:
            writer.close()

    async def _route(self, method: str, path: str, body: bytes) -> Reply:
        book = self._book
        if path == "/state":
            _allow(method, "GET")
            state = plant_state(book.model)
            state["faults"] = [record.as_json() for record in book.active()]
            return HTTPStatus.OK, state
        if path == "/faults":
            _allow(method, "GET, POST")
            if method == "GET":
                return HTTPStatus.OK, self._listing()
            return await self._inject(body)
        if path == "/faults/clear":
            _allow(method, "POST")
            cleared = book.clear_all()
            await self._on_change()
            return HTTPStatus.OK, {"cleared": [record.as_json() for record in cleared]}
        if path.startswith("/faults/"):
            _allow(method, "DELETE")
            text = path.removeprefix("/faults/")
            if not text.isdigit():
                raise HttpError(
                    HTTPStatus.BAD_REQUEST, f"id: '{text}' is not a fault id (a whole number)"
                )
            try:
                record = book.clear(int(text))
            except KeyError as exc:
                raise HttpError(HTTPStatus.NOT_FOUND, str(exc.args[0])) from None
            await self._on_change()
            return HTTPStatus.OK, record.as_json()
        routes = ", ".join(
            f"{methods.replace(', ', '|')} {route}" for route, methods in ROUTES.items()
        )
        raise HttpError(HTTPStatus.NOT_FOUND, f"no resource {path}; there are: {routes}")

    async def _inject(self, body: bytes) -> Reply:
        try:
            data = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise HttpError(HTTPStatus.BAD_REQUEST, f"body: not valid JSON ({exc})") from None
        try:
            record = self._book.inject(parse_fault_spec(data))
        except (ValueError, FaultRequestError) as exc:
            raise HttpError(HTTPStatus.BAD_REQUEST, str(exc)) from None
        await self._on_change()
        return HTTPStatus.CREATED, record.as_json()

    def _listing(self) -> dict[str, object]:
        book = self._book
        return {
            "now_utc": book.model.now_utc.isoformat(),
            "active": [record.as_json() for record in book.active()],
            "pending": [
                {
                    "at_s": entry.at_s,
                    "entry": entry.entry,
                    **entry.spec.model_dump(mode="json", exclude_none=True),
                }
                for entry in book.pending()
            ],
            "history": [record.as_json() for record in book.history()],
        }


def _allow(method: str, allowed: str) -> None:
    if method not in allowed.split(", "):
        raise HttpError(
            HTTPStatus.METHOD_NOT_ALLOWED,
            f"method {method} not allowed here; use {allowed}",
            allowed,
        )


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str, bytes]:
    """Method, path (query string dropped) and body of one HTTP/1.x request."""
    try:
        request_line = (await reader.readuntil(b"\r\n")).decode("latin-1").rstrip("\r\n")
        headers: dict[str, str] = {}
        while (line := (await reader.readuntil(b"\r\n")).decode("latin-1").rstrip("\r\n")) != "":
            name, separator, value = line.partition(":")
            if not separator:
                raise HttpError(HTTPStatus.BAD_REQUEST, f"header line without a colon: {line!r}")
            headers[name.strip().lower()] = value.strip()
            if len(headers) > MAX_HEADERS:
                raise HttpError(HTTPStatus.BAD_REQUEST, f"more than {MAX_HEADERS} header lines")
    except asyncio.LimitOverrunError:
        raise HttpError(
            HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, f"a line longer than {MAX_LINE_BYTES} bytes"
        ) from None
    parts = request_line.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise HttpError(HTTPStatus.BAD_REQUEST, f"not an HTTP/1.x request line: {request_line!r}")
    method, target, _ = parts
    length_text = headers.get("content-length", "0")
    if not length_text.isdigit():
        raise HttpError(
            HTTPStatus.BAD_REQUEST, f"Content-Length: '{length_text}' is not a byte count"
        )
    length = int(length_text)
    if length > MAX_BODY_BYTES:
        raise HttpError(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body: {length} bytes, at most {MAX_BODY_BYTES}"
        )
    body = await reader.readexactly(length) if length else b""
    return method, target.partition("?")[0], body


def _response(status: HTTPStatus, payload: object, allow: str | None) -> bytes:
    body = json.dumps(payload, allow_nan=False).encode() + b"\n"
    head = [
        f"HTTP/1.1 {status.value} {status.phrase}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        "Connection: close",
    ]
    if allow is not None:
        head.append(f"Allow: {allow}")
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
