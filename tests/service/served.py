"""The controller's HTTP server on loopback, with a test's own endpoints, for the HTTP tests."""

from __future__ import annotations

import http.client
import json
import threading

from prometheus_client import CollectorRegistry, Counter

from controller.service.http import Endpoints, HttpLimits, HttpServer
from controller.service.webhook import Verdict, github_signature

SECRET = b"served-secret"


class Served:
    """An ``HttpServer`` whose pushes are collected in ``pushes``."""

    def __init__(self, limits: HttpLimits | None = None) -> None:
        self.registry = CollectorRegistry()
        Counter("probe_things", "A metric to find in the output.", registry=self.registry).inc(3)
        self.ready = (False, "no pass has finished yet")
        self.pushes: list[Verdict] = []
        self._lock = threading.Lock()
        self.server = HttpServer(
            host="127.0.0.1",
            port=0,
            endpoints=Endpoints(
                registry=self.registry,
                readiness=lambda: self.ready,
                on_push=self._push,
                branch="main",
                webhook_secret=SECRET,
            ),
            limits=limits,
        )
        host, port = self.server.address.rsplit(":", 1)
        self.host, self.port = host, int(port)

    def _push(self, verdict: Verdict) -> None:
        with self._lock:
            self.pushes.append(verdict)

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        *,
        timeout: float = 10,
    ) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            answer = connection.getresponse()
            return answer.status, answer.read()
        finally:
            connection.close()

    def push(self, body: bytes, **headers: str) -> tuple[int, dict[str, object]]:
        """POST ``body`` to /webhook, signed as GitHub does, with ``headers`` added."""
        signed = {"X-Hub-Signature-256": github_signature(SECRET, body), **headers}
        status, answer = self.request("POST", "/webhook", body, signed)
        return status, json.loads(answer)
