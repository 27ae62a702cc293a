"""The API served by uvicorn inside the controller's own event loop: one task of the run's task
group, never a second loop or thread, so its handlers and the cycle never touch the desk at once.

The socket is bound before anything runs (a busy port fails the start with its address, like
the metrics port); the controller, not uvicorn, owns SIGTERM and SIGINT: `serve` ends when the
run's stop event is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Generator
from pathlib import Path

import uvicorn

from controller.api.app import ApiContext, build_app
from controller.config import ApiConfig, ConfigError, Plant
from controller.core.report import CycleReport
from controller.runtime.desk import OperatorDesk
from controller.runtime.planner import PlannerService
from drivers.clock import Clock

log = logging.getLogger(__name__)

MIN_TOKEN_CHARS = 16  # a short token is guessed; `openssl rand -hex 32` gives 64


def read_token(plant: Plant) -> str | None:
    """The write token: from `token_file` (relative to the plant file), else from the
    environment variable `token_env`; None when neither is set (writes are then refused)."""
    api: ApiConfig = plant.control.api
    if api.token_file is not None:
        path = Path(api.token_file)
        path = path if path.is_absolute() else plant.path.parent / path
        try:
            token = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"{plant.path}: [control.api] token_file {path}: cannot be read ({exc.strerror})"
            ) from None
        where = f"token_file {path}"
    else:
        token = os.environ.get(api.token_env, "").strip()
        if not token:
            return None
        where = f"environment variable {api.token_env}"
    if len(token) < MIN_TOKEN_CHARS:
        raise ConfigError(
            f"{plant.path}: [control.api] the token in {where} has {len(token)} characters: "
            f"at least {MIN_TOKEN_CHARS} are needed (e.g. `openssl rand -hex 32`)"
        )
    return token


class _LoopServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # uvicorn would take SIGTERM/SIGINT for itself and stop only the API: the run's own
        # handlers stop the whole controller, the API with it
        yield


class ApiServer:
    """A cycle observer (keeps the last report) and the uvicorn server of the API and page."""

    def __init__(
        self,
        plant: Plant,
        desk: OperatorDesk,
        planner: PlannerService | None,
        audit_path: Path,
        clock: Clock,
        token: str | None,
    ) -> None:
        self._latest: CycleReport | None = None
        context = ApiContext(
            plant=plant,
            desk=desk,
            planner=planner,
            audit_path=audit_path,
            clock=clock,
            latest=lambda: self._latest,
            token=token,
        )
        self.app = build_app(context)
        self._socket: socket.socket | None = None

    @property
    def url(self) -> str:
        """Where the page is, once bound (an IPv6 host in brackets)."""
        if self._socket is None:
            raise RuntimeError("ApiServer.url before bind")
        host, port = self._socket.getsockname()[:2]
        return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"

    def observe(self, report: CycleReport) -> None:
        self._latest = report

    def bind(self, host: str, port: int) -> int:
        """Bind the listening socket now (0 picks a free port); returns the port."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            sock.close()
            raise OSError(exc.errno, f"API address {host}:{port}: {exc.strerror}") from None
        sock.listen(128)
        sock.setblocking(False)
        self._socket = sock
        return int(sock.getsockname()[1])

    async def serve(self, stop: asyncio.Event) -> None:
        """Serve on the bound socket until `stop` is set."""
        if self._socket is None:
            raise RuntimeError("ApiServer.serve before bind")
        config = uvicorn.Config(
            self.app,
            lifespan="off",
            log_config=None,  # the controller's logging stays as hpctl set it up
            access_log=False,
            ws="none",  # no websockets: nothing to load for them
            # hand-back to local control waits for this task: an open request may hold it
            # up by this long at most
            timeout_graceful_shutdown=1,
        )
        server = _LoopServer(config)
        serving = asyncio.create_task(server.serve(sockets=[self._socket]), name="api-uvicorn")
        waiting = asyncio.create_task(stop.wait(), name="api-stop")
        try:
            await asyncio.wait({serving, waiting}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            server.should_exit = True
            waiting.cancel()
            await serving  # raises what the server raised, if it failed

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
