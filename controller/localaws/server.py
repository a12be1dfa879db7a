"""The local-aws HTTP server: moto's WSGI application behind one lock, in a background thread.

Every request first advances the ECS simulation to the wall clock (the server is what gives the
simulation real time; ``controller.localaws.install`` patches moto to answer through it), so any
answer (DescribeServices, DescribeTargetHealth, ...) reflects every task transition due by then.
Requests are served one at a time: moto's backends are process-global and not thread-safe. ECS
calls the options say to refuse (throttling, server errors) are answered before moto sees them.
Does network I/O (loopback).
"""

from __future__ import annotations

import io
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

from moto.moto_api._internal.models import moto_api_backend
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

from controller.localaws.install import Installation, install
from controller.localaws.options import SimulationOptions
from controller.localaws.simulation import EcsSimulation

_READY_SECONDS = 10.0


class _RequestHandler(MotoRequestHandler):
    """moto's handler without the access log: one line per request drowns the command's output."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


_ECS_TARGET = "AmazonEC2ContainerServiceV20141113."


class _Refusals:
    """The ECS calls still to refuse (``SimulationOptions.throttle`` and ``server_errors``)."""

    def __init__(self, options: SimulationOptions) -> None:
        self._throttle = dict(options.throttle)
        self._server_errors = dict(options.server_errors)

    def take(self, environ: dict[str, Any]) -> tuple[str, bytes] | None:
        """The (status, body) to answer instead of serving this request, if it is to be refused."""
        if not (self._throttle or self._server_errors):
            return None
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        if not target.startswith(_ECS_TARGET):
            return None
        operation = target[len(_ECS_TARGET) :]
        keys = [operation]
        if any(k.startswith(f"{operation}/") for k in (*self._throttle, *self._server_errors)):
            keys.insert(0, f"{operation}/{_cluster(environ)}")
        for key in keys:
            if self._throttle.get(key, 0) > 0:
                self._throttle[key] -= 1
                return "400 Bad Request", json.dumps(
                    {"__type": "ThrottlingException", "message": "Rate exceeded"}
                ).encode()
            if self._server_errors.get(key, 0) > 0:
                self._server_errors[key] -= 1
                return "500 Internal Server Error", json.dumps(
                    {"__type": "ServerException", "message": "Service unavailable"}
                ).encode()
        return None


def _cluster(environ: dict[str, Any]) -> str:
    """The request's ``cluster`` (its short name); the body is put back for moto to read."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(raw)
    try:
        cluster = str(json.loads(raw or b"{}").get("cluster") or "default")
    except ValueError:
        return ""
    return cluster.rsplit("/", 1)[-1]


class LocalAws:
    """An embedded AWS on ``host:port`` (port 0 picks a free one); one per process at a time."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 4566,
        options: SimulationOptions | None = None,
    ) -> None:
        self._host = host
        self._port = port
        self._simulation = EcsSimulation(options or SimulationOptions())
        # moto's backends and the simulation are not thread-safe: one request at a time
        self._lock = threading.RLock()
        self._installation: Installation | None = None
        self._refusals = _Refusals(self._simulation.options)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def options(self) -> SimulationOptions:
        """How simulated tasks behave; replacing it affects tasks launched from then on."""
        return self._simulation.options

    @options.setter
    def options(self, value: SimulationOptions) -> None:
        with self._lock:
            self._simulation.options = value
            self._refusals = _Refusals(value)

    @property
    def endpoint_url(self) -> str:
        """``http://HOST:PORT`` of the running server."""
        if self._server is None:
            raise RuntimeError("local-aws is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        """Bind, serve in a daemon thread, and return once the endpoint answers HTTP."""
        if self._server is not None:
            return
        # Bound here rather than by werkzeug, which prints and exits when the port is taken:
        # callers get the OSError instead.
        family = socket.getaddrinfo(self._host, self._port, type=socket.SOCK_STREAM)[0][0]
        with socket.create_server((self._host, self._port), family=family) as listening:
            self._installation = install(self._simulation, time.time)
            try:
                self._server = make_server(
                    self._host,
                    self._port,
                    self._application(DomainDispatcherApplication(create_backend_app)),
                    threaded=True,
                    request_handler=_RequestHandler,
                    fd=listening.fileno(),
                )
            except BaseException:
                self._uninstall()
                raise
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="local-aws", daemon=True
        )
        self._thread.start()
        self._wait_until_answering()

    def stop(self) -> None:
        """Stop serving and give moto its own ECS handlers back. Moto's state is kept."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = None
        self._thread = None
        self._uninstall()

    def _uninstall(self) -> None:
        if self._installation is not None:
            self._installation.close()
            self._installation = None

    def reset(self) -> None:
        """Wipe all moto state and all simulation state."""
        with self._lock:
            moto_api_backend.reset()
            self._simulation.reset()

    def __enter__(self) -> LocalAws:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _application(self, moto_app: Callable[..., Iterable[bytes]]) -> Callable[..., list[bytes]]:
        simulation, lock = self._simulation, self._lock

        def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
            with lock:
                refusal = self._refusals.take(environ)
                if refusal is not None:
                    status, refused = refusal
                    start_response(status, [("Content-Type", "application/x-amz-json-1.1")])
                    return [refused]
                simulation.advance(time.time())
                body = moto_app(environ, start_response)
                try:
                    chunks = list(body)
                finally:
                    close = getattr(body, "close", None)
                    if close is not None:
                        close()
                # A request may have changed desired state: the scheduler acts on it now, not at
                # the next request (the response above already shows the state ECS would return).
                simulation.advance(time.time())
            return chunks

        return application

    def _wait_until_answering(self) -> None:
        deadline = time.monotonic() + _READY_SECONDS
        url = f"{self.endpoint_url}/moto-api/"
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2):
                    return
            except urllib.error.HTTPError:
                return  # any HTTP answer means the server is up
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
