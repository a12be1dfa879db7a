"""The controller's HTTP endpoints: ``POST /webhook``, ``GET /healthz``, ``/readyz``, ``/metrics``,
and the read-only status page: ``GET /`` (HTML) and ``/api/status`` (its JSON).

Served by waitress: one event loop reads requests (an idle or half-sent connection costs a
socket, not a thread), a bounded pool of worker threads answers complete ones, and
``HttpLimits`` bounds connections, header size and how long a request may take to arrive.
The work behind each endpoint belongs to the ``Endpoints`` it is given. Does I/O: binds a
socket and serves in a background thread.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from waitress import wasyncore
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer
from waitress.task import ThreadedTaskDispatcher

from controller.errors import EcsGitopsError
from controller.service.status_page import CONTENT_SECURITY_POLICY, render_page
from controller.service.status_snapshot import Snapshot
from controller.service.webhook import MAX_BODY_BYTES, RecentDeliveries, Verdict, judge

log = logging.getLogger("ecs-gitops")

StartResponse = Callable[..., Any]


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
    # webhook deliveries already acted on, so that a replay asks for no second pass
    deliveries: RecentDeliveries = field(
        default_factory=lambda: RecentDeliveries(clock=time.monotonic)
    )
    # the status page's rows as last read (``GET /``, ``/api/status``); None: no page
    status: Callable[[], Snapshot] | None = None
    title: str = "ecs-gitops"


@dataclass(frozen=True)
class HttpLimits:
    """How much the server gives any client; the defaults suit webhooks, probes and scrapes."""

    # Threads answering complete requests. Every answer is quick (a push only queues a pass),
    # so a few keep up with hundreds of clients; more requests wait in line, not in threads.
    threads: int = 8
    # Open connections at once; past it new ones wait in the listen backlog. Each costs a
    # file descriptor (not a thread), so this stays well under a 1024-descriptor limit.
    connections: int = 500
    # A request's headers and body must all arrive within this long of its first byte, so
    # a client sending a byte at a time cannot hold a connection open.
    request_seconds: float = 15.0
    # A connection with nothing to say (keep-alive between requests, or silent from the
    # start) is closed after this long.
    idle_seconds: float = 30.0
    # Request line plus headers; GitHub's and GitLab's are around 2 KB.
    header_bytes: int = 64 * 1024


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:8080`` for IPv6) as (host, port); port 0 picks a free one."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise EcsGitopsError(f"--listen: expected HOST:PORT, got {text!r}")
    return host, int(port)


def _answer(
    start_response: StartResponse,
    status: int,
    body: bytes,
    *,
    content_type: str = "application/json",
    head: bool = False,
    extra: Sequence[tuple[str, str]] = (),
) -> list[bytes]:
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body))), *extra]
    start_response(f"{status} {HTTPStatus(status).phrase}", headers)
    return [] if head else [body]


# the page and its JSON: never sniffed as another type, framed or given a referrer
_SAFE_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
)


def _json(
    start_response: StartResponse, status: int, document: dict[str, Any], *, head: bool = False
) -> list[bytes]:
    return _answer(start_response, status, (json.dumps(document) + "\n").encode(), head=head)


class _Application:
    """The WSGI application: routes a request to what ``Endpoints`` answers."""

    def __init__(self, endpoints: Endpoints) -> None:
        self.endpoints = endpoints

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "")
        try:
            if method in ("GET", "HEAD"):
                return self._get(path, environ, start_response, head=method == "HEAD")
            if method == "POST":
                return self._post(path, environ, start_response)
            return _json(
                start_response,
                HTTPStatus.METHOD_NOT_ALLOWED,
                {"error": f"{method} is not served here"},
            )
        except Exception:
            # a bug, not the client's doing: it is logged here once, and the client gets a 500
            log.exception("HTTP %s %s failed", method, path)
            body = b'{"error": "internal error"}\n'
            # exc_info: the answer may have been started before the failure
            start_response(
                "500 Internal Server Error",
                [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
                sys.exc_info(),
            )
            return [body]

    def _get(
        self, path: str, environ: dict[str, Any], start_response: StartResponse, *, head: bool
    ) -> list[bytes]:
        endpoints = self.endpoints
        if path in ("/", "/api/status") and endpoints.status is not None:
            return self._status(path, environ, start_response, head=head)
        if path == "/healthz":
            return _json(start_response, HTTPStatus.OK, {"status": "alive"}, head=head)
        if path == "/readyz":
            ready, why = endpoints.readiness()
            status = HTTPStatus.OK if ready else HTTPStatus.SERVICE_UNAVAILABLE
            return _json(start_response, status, {"ready": ready, "reason": why}, head=head)
        if path == "/metrics":
            text = generate_latest(endpoints.registry)
            return _answer(
                start_response, HTTPStatus.OK, text, content_type=CONTENT_TYPE_LATEST, head=head
            )
        return _json(
            start_response, HTTPStatus.NOT_FOUND, {"error": f"no such endpoint: {path}"}, head=head
        )

    def _status(
        self, path: str, environ: dict[str, Any], start_response: StartResponse, *, head: bool
    ) -> list[bytes]:
        """The status page or its JSON, rendered from the rows in memory (no git, no AWS)."""
        assert self.endpoints.status is not None
        snapshot = self.endpoints.status()
        now = datetime.now(UTC)
        if path == "/api/status":
            # the page polls: an unchanged reading costs a 304 (it ages the rows itself)
            extra = [("ETag", snapshot.tag), ("Cache-Control", "no-cache"), *_SAFE_HEADERS]
            if environ.get("HTTP_IF_NONE_MATCH") == snapshot.tag:
                start_response("304 Not Modified", extra)
                return []
            document = snapshot.document(now=now)
            body = (json.dumps(document) + "\n").encode()
            return _answer(start_response, HTTPStatus.OK, body, head=head, extra=extra)
        page = render_page(snapshot.document(now=now), title=self.endpoints.title, now=now).encode()
        return _answer(
            start_response,
            HTTPStatus.OK,
            page,
            content_type="text/html; charset=utf-8",
            head=head,
            extra=[
                ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
                ("Cache-Control", "no-store"),
                *_SAFE_HEADERS,
            ],
        )

    def _post(
        self, path: str, environ: dict[str, Any], start_response: StartResponse
    ) -> list[bytes]:
        if path != "/webhook":
            return _json(start_response, HTTPStatus.NOT_FOUND, {"error": "POST goes to /webhook"})
        # waitress answers 413 itself past max_request_body_size, before reading the body,
        # and gives a chunked body its length once it has all arrived
        try:
            length = int(environ.get("CONTENT_LENGTH", ""))
        except ValueError:
            return _json(
                start_response, HTTPStatus.LENGTH_REQUIRED, {"error": "Content-Length required"}
            )
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        endpoints = self.endpoints
        headers = {
            key[5:].replace("_", "-"): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        verdict = judge(
            headers,
            body,
            secret=endpoints.webhook_secret,
            branch=endpoints.branch,
            deliveries=endpoints.deliveries,
        )
        level = logging.WARNING if verdict.status >= HTTPStatus.BAD_REQUEST else logging.INFO
        client = environ.get("REMOTE_ADDR", "?")
        log.log(level, "webhook from %s: %s %s", client, verdict.status, verdict.reason)
        if verdict.trigger:
            endpoints.on_push(verdict)
        return _json(
            start_response,
            verdict.status,
            {"status": verdict.reason, "triggered": verdict.trigger},
        )


class _Channel(HTTPChannel):  # type: ignore[misc]  # waitress ships no type hints
    """A connection that remembers when the request it is receiving began to arrive."""

    request_started = 0.0

    def received(self, data: bytes) -> bool:
        if self.request is None:
            self.request_started = time.time()
        return bool(super().received(data))


class _Server(TcpWSGIServer):  # type: ignore[misc]  # waitress ships no type hints
    """waitress's server, also closing connections whose request takes too long to arrive."""

    channel_class = _Channel
    request_seconds = HttpLimits.request_seconds

    def maintenance(self, now: float) -> None:
        # waitress closes connections idle for channel_timeout; a client trickling a byte at
        # a time is never idle, so a request still incomplete after request_seconds goes too
        super().maintenance(now)
        cutoff = now - self.request_seconds
        for channel in list(self.active_channels.values()):
            if (
                isinstance(channel, _Channel)
                and channel.request is not None
                and not channel.requests
                and channel.request_started < cutoff
            ):
                channel.will_close = True


class HttpServer:
    """The endpoints served on ``host:port`` from a background thread."""

    def __init__(
        self, *, host: str, port: int, endpoints: Endpoints, limits: HttpLimits | None = None
    ) -> None:
        limits = limits or HttpLimits()
        listen = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self._map: dict[int, Any] = {}
        self._stopping = threading.Event()
        # the bounded pool of worker threads; they start once the socket is bound
        self._dispatcher = ThreadedTaskDispatcher()
        # waitress warns once per queued request: a burst of requests would flood the log
        logging.getLogger("waitress.queue").setLevel(logging.ERROR)
        try:
            adjustments = Adjustments(
                listen=listen,
                threads=limits.threads,
                connection_limit=limits.connections,
                channel_timeout=limits.idle_seconds,
                # how often the timeouts above are checked
                cleanup_interval=min(1.0, limits.request_seconds / 2),
                max_request_header_size=limits.header_bytes,
                # answered 413 from the Content-Length alone, the body left unread
                max_request_body_size=MAX_BODY_BYTES,
                # poll(), not select(): select() fails on descriptors numbered past 1023
                asyncore_use_poll=True,
                ident="ecs-gitops",
            )
            self._server = _Server(
                _Application(endpoints),
                map=self._map,
                dispatcher=self._dispatcher,
                adj=adjustments,
                # the first address the host resolves to, as a plain bind would use
                sockinfo=adjustments.listen[0],
            )
        except (OSError, ValueError) as e:
            wasyncore.close_all(self._map, ignore_all=True)
            reason = e.strerror if isinstance(e, OSError) and e.strerror else e
            raise EcsGitopsError(f"listen on {listen}: {reason}") from e
        self._server.request_seconds = limits.request_seconds
        self._dispatcher.set_thread_count(limits.threads)
        # a daemon, so that a start-up failure in the caller before stop() cannot hang the exit
        self._thread = threading.Thread(target=self._serve, name="http", daemon=True)

    @property
    def address(self) -> str:
        """``host:port`` actually bound (the real port when 0 was asked for)."""
        host, port = self._server.effective_host, self._server.effective_port
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def _serve(self) -> None:
        try:
            while not self._stopping.is_set():
                # one poll at a time, so that stop() is noticed between them
                wasyncore.loop(timeout=1.0, map=self._map, use_poll=True, count=1)
        finally:
            # from this thread, which alone touches the connections
            wasyncore.close_all(self._map, ignore_all=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting, close every connection, and let running answers finish (briefly)."""
        if self._thread.is_alive():
            # the flag is set from the serving thread itself, woken at once by the trigger,
            # so the trigger is never pulled after that thread has closed it
            self._server.trigger.pull_trigger(self._stopping.set)
            self._thread.join()
        else:
            self._stopping.set()
            wasyncore.close_all(self._map, ignore_all=True)
        self._dispatcher.shutdown(timeout=2)
