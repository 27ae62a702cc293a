"""The controller's HTTP endpoint: `/metrics` for Prometheus and `/healthz` for the supervisor.

One small threaded WSGI server (stdlib wsgiref) so scrapes never run on the event loop. It binds
to the address it is given (127.0.0.1 by default in the plant config): exposing it is a choice.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app

log = logging.getLogger(__name__)

HealthCheck = Callable[[], tuple[bool, dict[str, object]]]
StartResponse = Callable[..., Any]
Environ = dict[str, Any]


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    """Scrapes every few seconds would flood the log: requests are not logged."""

    def log_message(self, format: str, *args: object) -> None:
        return


def build_app(
    registry: CollectorRegistry, health: HealthCheck
) -> Callable[[Environ, StartResponse], Iterable[bytes]]:
    """WSGI app: /metrics (Prometheus text format), /healthz (JSON, 200 or 503), / (index)."""
    metrics_app = make_wsgi_app(registry)

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        if path == "/metrics":
            return metrics_app(environ, start_response)  # type: ignore[no-any-return]
        if path == "/healthz":
            healthy, body = health()
            payload = json.dumps(body, sort_keys=True).encode()
            status = "200 OK" if healthy else "503 Service Unavailable"
            start_response(
                status,
                [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
            )
            return [payload]
        if path == "/":
            text = b"hpctl: /metrics (Prometheus), /healthz (cycle alive and data fresh)\n"
            start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
            return [text]
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [f"no such path: {path}\n".encode()]

    return app


class MetricsServer:
    """Serves the app in a daemon thread until `close()`."""

    def __init__(self, registry: CollectorRegistry, health: HealthCheck) -> None:
        self._app = build_app(registry, health)
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self, host: str, port: int) -> int:
        """Bind and serve; returns the bound port (0 picks a free one)."""
        if self._server is not None:
            raise RuntimeError("metrics server already started")
        server = make_server(
            host, port, self._app, server_class=_ThreadingServer, handler_class=_QuietHandler
        )
        thread = threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True)
        thread.start()
        self._server, self._thread = server, thread
        return int(server.server_port)

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None
