"""The HTTP endpoints served for real on loopback: health, readiness, metrics, webhook limits."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry

from controller.errors import EcsGitopsError
from controller.service.http import Endpoints, HttpServer, parse_listen
from controller.service.webhook import MAX_BODY_BYTES, github_signature
from tests.service.served import SECRET, Served


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


def test_a_replayed_github_delivery_is_acknowledged_and_asks_for_no_second_pass(
    served: Served,
) -> None:
    body = json.dumps({"ref": "refs/heads/main", "after": "c" * 40}).encode()
    delivery = {"X-GitHub-Event": "push", "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab"}
    assert served.push(body, **delivery) == (
        202,
        {"status": "pass requested by a github push", "triggered": True},
    )
    assert served.push(body, **delivery) == (
        200,
        {"status": "duplicate delivery, ignored", "triggered": False},
    )
    assert len(served.pushes) == 1
    # another delivery of the same content is a new push
    status, answer = served.push(body, **{**delivery, "X-GitHub-Delivery": "another-one"})
    assert (status, answer["triggered"]) == (202, True)
    assert len(served.pushes) == 2


def test_a_replayed_gitlab_event_is_acknowledged_and_asks_for_no_second_pass(
    served: Served,
) -> None:
    body = json.dumps({"ref": "refs/heads/main", "after": "d" * 40}).encode()
    headers = {
        "X-Gitlab-Token": SECRET.decode(),
        "X-Gitlab-Event": "Push Hook",
        "X-Gitlab-Event-UUID": "13792a34-cac6-4fda-95a8-c58e00a3954e",
    }
    answers = [served.request("POST", "/webhook", body, headers) for _ in range(2)]
    assert [status for status, _ in answers] == [202, 200]
    assert json.loads(answers[1][1])["status"] == "duplicate delivery, ignored"
    assert len(served.pushes) == 1


def test_a_replay_with_a_wrong_signature_is_still_401(served: Served) -> None:
    body = json.dumps({"ref": "refs/heads/main"}).encode()
    served.push(body, **{"X-GitHub-Delivery": "once"})
    forged = {"X-Hub-Signature-256": github_signature(b"guess", body), "X-GitHub-Delivery": "once"}
    assert served.request("POST", "/webhook", body, forged)[0] == 401


def test_a_chunked_push_is_read_whole(served: Served) -> None:
    body = json.dumps({"ref": "refs/heads/main", "after": "e" * 40}).encode()
    with socket.create_connection((served.host, served.port), timeout=10) as connection:
        connection.sendall(
            b"POST /webhook HTTP/1.1\r\nHost: ci\r\nConnection: close\r\n"
            b"Transfer-Encoding: chunked\r\n"
            + f"X-Hub-Signature-256: {github_signature(SECRET, body)}\r\n\r\n".encode()
            + f"{len(body):x}\r\n".encode()
            + body
            + b"\r\n0\r\n\r\n"
        )
        answer = b"".join(iter(lambda: connection.recv(4096), b""))
    assert answer.startswith(b"HTTP/1.1 202 ")
    assert [v.after for v in served.pushes] == ["e" * 40]


def test_a_post_without_a_length_is_411(served: Served) -> None:
    with socket.create_connection((served.host, served.port), timeout=10) as connection:
        connection.sendall(b"POST /webhook HTTP/1.1\r\nHost: ci\r\nConnection: close\r\n\r\n")
        answer = b"".join(iter(lambda: connection.recv(4096), b""))
    assert answer.startswith(b"HTTP/1.") and b" 411 " in answer.split(b"\r\n")[0]


def test_head_answers_headers_only(served: Served) -> None:
    status, body = served.request("HEAD", "/healthz")
    assert (status, body) == (200, b"")


def test_a_port_in_use_or_an_unknown_host_is_one_line_saying_where(served: Served) -> None:
    endpoints = Endpoints(
        registry=served.registry, readiness=lambda: (True, ""), on_push=print, branch="main"
    )
    with pytest.raises(EcsGitopsError, match=rf"listen on 127\.0\.0\.1:{served.port}: .*in use"):
        HttpServer(host="127.0.0.1", port=served.port, endpoints=endpoints)
    with pytest.raises(EcsGitopsError, match=r"listen on no-such-host\.invalid:0: "):
        HttpServer(host="no-such-host.invalid", port=0, endpoints=endpoints)


def _ipv6_loopback() -> bool:
    """Whether this machine can bind ::1 at all (some containers have IPv6 switched off)."""
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback(), reason="this machine has no IPv6 loopback")
def test_port_zero_on_ipv6_loopback_reports_the_bound_port() -> None:
    endpoints = Endpoints(
        registry=CollectorRegistry(), readiness=lambda: (True, ""), on_push=print, branch="main"
    )
    server = HttpServer(host="::1", port=0, endpoints=endpoints)
    server.start()
    try:
        host, port = server.address.rsplit(":", 1)
        assert host == "[::1]" and int(port) > 0
        with socket.create_connection(("::1", int(port)), timeout=10) as connection:
            connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert connection.recv(4096).split(b"\r\n")[0].endswith(b" 200 OK")
    finally:
        server.stop()
