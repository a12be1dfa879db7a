"""The HTTP endpoints served for real on loopback: health, readiness, metrics, webhook limits."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, Counter

from controller.errors import EcsGitopsError
from controller.service.http import Endpoints, HttpServer, parse_listen
from controller.service.webhook import MAX_BODY_BYTES, Verdict, github_signature

SECRET = b"served-secret"


class Served:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        Counter("probe_things", "A metric to find in the output.", registry=self.registry).inc(3)
        self.ready = (False, "no pass has finished yet")
        self.pushes: list[Verdict] = []
        self.server = HttpServer(
            host="127.0.0.1",
            port=0,
            endpoints=Endpoints(
                registry=self.registry,
                readiness=lambda: self.ready,
                on_push=self.pushes.append,
                branch="main",
                webhook_secret=SECRET,
            ),
        )

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        host, port = self.server.address.rsplit(":", 1)
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            answer = connection.getresponse()
            return answer.status, answer.read()
        finally:
            connection.close()


@pytest.fixture
def served() -> Iterator[Served]:
    s = Served()
    s.server.start()
    yield s
    s.server.stop()


def test_healthz_answers_while_readyz_follows_the_last_pass(served: Served) -> None:
    assert served.request("GET", "/healthz")[0] == 200
    status, body = served.request("GET", "/readyz")
    assert status == 503
    assert json.loads(body)["reason"] == "no pass has finished yet"
    served.ready = (True, "last pass finished")
    assert served.request("GET", "/readyz")[0] == 200


def test_metrics_are_the_registry_in_prometheus_text(served: Served) -> None:
    status, body = served.request("GET", "/metrics")
    assert status == 200
    assert b"probe_things_total 3.0" in body


def test_a_signed_push_is_handed_on_and_an_unsigned_one_is_not(served: Served) -> None:
    body = json.dumps({"ref": "refs/heads/main", "after": "b" * 40}).encode()
    assert served.request("POST", "/webhook", body)[0] == 401
    assert served.pushes == []
    status, _ = served.request(
        "POST", "/webhook", body, {"X-Hub-Signature-256": github_signature(SECRET, body)}
    )
    assert status == 202
    assert [v.after for v in served.pushes] == ["b" * 40]


def test_an_oversized_body_is_refused_unread(served: Served) -> None:
    # only the headers are sent: the server must answer without waiting for the body
    host, port = served.server.address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(
            b"POST /webhook HTTP/1.1\r\nHost: ci\r\n"
            + f"Content-Length: {MAX_BODY_BYTES + 1}\r\n".encode()
            + f"X-Hub-Signature-256: {github_signature(SECRET, b'')}\r\n\r\n".encode()
        )
        answer = connection.recv(4096).decode(errors="replace")
    assert answer.startswith("HTTP/1.") and " 413 " in answer.splitlines()[0]
    assert served.pushes == []


def test_unknown_paths_are_404(served: Served) -> None:
    assert served.request("GET", "/nothing")[0] == 404
    assert served.request("POST", "/healthz", b"")[0] == 404


@pytest.mark.parametrize(
    ("text", "expected"),
    [("127.0.0.1:8080", ("127.0.0.1", 8080)), ("0.0.0.0:0", ("0.0.0.0", 0)),
     ("[::1]:9000", ("::1", 9000))],
)  # fmt: skip
def test_listen_addresses(text: str, expected: tuple[str, int]) -> None:
    assert parse_listen(text) == expected


@pytest.mark.parametrize("text", ["8080", ":8080", "host:", "host:99999", "host:http"])
def test_bad_listen_addresses_are_refused(text: str) -> None:
    with pytest.raises(EcsGitopsError, match="--listen"):
        parse_listen(text)
