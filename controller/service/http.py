"""The controller's HTTP endpoints: ``POST /webhook``, ``GET /healthz``, ``/readyz``, ``/metrics``.

A small threaded server from the standard library; the work behind each endpoint belongs to
the ``Endpoints`` it is given. Does I/O: binds a socket and serves in a background thread.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from controller.errors import EcsGitopsError
from controller.service.webhook import MAX_BODY_BYTES, Verdict, judge

log = logging.getLogger("ecs-gitops")


@dataclass
class Endpoints:
    """What the HTTP endpoints answer with, supplied by the running controller."""

    registry: CollectorRegistry
    # (ready, why): the last pass finished and the repository was reachable
    readiness: Callable[[], tuple[bool, str]]
    # a verified push: ask for a pass; the argument is the pushed commit, when known
    on_push: Callable[[Verdict], None]
    branch: str
    webhook_secret: bytes | None = None


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:8080`` for IPv6) as (host, port); port 0 picks a free one."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise EcsGitopsError(f"--listen: expected HOST:PORT, got {text!r}")
    return host, int(port)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    # no "Python/3.x" in the Server header
    server_version = "ecs-gitops"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        # access logs would be noise (probes every few seconds); outcomes are logged instead
        pass

    def _answer(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, document: dict[str, Any]) -> None:
        self._answer(status, (json.dumps(document) + "\n").encode())

    def do_GET(self) -> None:
        endpoints = self.server.endpoints
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            self._json(HTTPStatus.OK, {"status": "alive"})
        elif path == "/readyz":
            ready, why = endpoints.readiness()
            status = HTTPStatus.OK if ready else HTTPStatus.SERVICE_UNAVAILABLE
            self._json(status, {"ready": ready, "reason": why})
        elif path == "/metrics":
            self._answer(HTTPStatus.OK, generate_latest(endpoints.registry), CONTENT_TYPE_LATEST)
        else:
            self._json(HTTPStatus.NOT_FOUND, {"error": f"no such endpoint: {path}"})

    do_HEAD = do_GET

    def do_POST(self) -> None:
        if self.path.split("?", 1)[0] != "/webhook":
            self._json(HTTPStatus.NOT_FOUND, {"error": "POST goes to /webhook"})
            return
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self.close_connection = True
            self._json(HTTPStatus.LENGTH_REQUIRED, {"error": "Content-Length required"})
            return
        if length < 0 or length > MAX_BODY_BYTES:
            # not read: the connection is closed instead of draining a large body
            self.close_connection = True
            self._json(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                {"error": f"body larger than {MAX_BODY_BYTES} bytes"},
            )
            return
        body = self.rfile.read(length)
        endpoints = self.server.endpoints
        verdict = judge(
            dict(self.headers.items()),
            body,
            secret=endpoints.webhook_secret,
            branch=endpoints.branch,
        )
        level = logging.WARNING if verdict.status == HTTPStatus.UNAUTHORIZED else logging.INFO
        log.log(
            level, "webhook from %s: %s %s", self.client_address[0], verdict.status, verdict.reason
        )
        if verdict.trigger:
            endpoints.on_push(verdict)
        self._json(verdict.status, {"status": verdict.reason, "triggered": verdict.trigger})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    endpoints: Endpoints


class _Server6(_Server):
    address_family = socket.AF_INET6


class HttpServer:
    """The endpoints served on ``host:port`` from a background thread."""

    def __init__(self, *, host: str, port: int, endpoints: Endpoints) -> None:
        server_class = _Server6 if ":" in host else _Server
        try:
            self._server = server_class((host, port), _Handler)
        except OSError as e:
            raise EcsGitopsError(f"listen on {host}:{port}: {e.strerror or e}") from e
        self._server.endpoints = endpoints
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="http", kwargs={"poll_interval": 0.2}
        )

    @property
    def address(self) -> str:
        """``host:port`` actually bound (the real port when 0 was asked for)."""
        host, port = self._server.server_address[:2]
        shown = host.decode() if isinstance(host, bytes) else host
        return f"[{shown}]:{port}" if ":" in shown else f"{shown}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
