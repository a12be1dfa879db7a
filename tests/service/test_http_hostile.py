"""The HTTP server against hostile or heavy clients, on loopback: a body nested 100,000 deep,
connections that never finish their headers, a trickling client, and 200 clients at once."""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from controller.service.http import HttpLimits
from tests.service.served import Served

# generous: these are deadlines for a loaded two-core machine, not measurements
ANSWER_SECONDS = 30.0
# per request under load; answers take well under a second, while a server whose listen
# backlog overflows leaves clients retrying their SYN for longer than this
LOADED_REQUEST_SECONDS = 10.0
# short timeouts, so that the server's closing of slow clients is seen within a test
QUICK = HttpLimits(request_seconds=2.0, idle_seconds=2.0)


@pytest.fixture
def served() -> Iterator[Served]:
    s = Served(QUICK)
    s.server.start()
    yield s
    s.server.stop()


def closed_by_server(connection: socket.socket, *, within: float) -> bool:
    """Whether the server closes ``connection`` (EOF or reset) within ``within`` seconds."""
    connection.settimeout(within)
    try:
        return connection.recv(4096) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_a_signed_body_nested_100k_deep_is_400_and_the_server_goes_on(served: Served) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    status, answer = served.push(deep, **{"X-GitHub-Event": "push"})
    assert status == 400
    assert answer == {"status": "body nested deeper than 64 levels", "triggered": False}
    deep_object = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
    assert served.push(deep_object)[0] == 400
    assert served.pushes == []
    assert served.request("GET", "/healthz")[0] == 200
    ordinary = json.dumps({"ref": "refs/heads/main", "after": "f" * 40}).encode()
    assert served.push(ordinary)[0] == 202
    assert [v.after for v in served.pushes] == ["f" * 40]


def test_300_unfinished_headers_are_closed_while_healthz_answers(served: Served) -> None:
    connections = []
    try:
        for _ in range(300):
            connection = socket.create_connection((served.host, served.port), timeout=10)
            # no blank line: the headers never end
            connection.sendall(b"POST /webhook HTTP/1.1\r\nHost: ci\r\nContent-Length: 10\r\n")
            connections.append(connection)
        # a few say nothing at all
        for _ in range(5):
            connections.append(socket.create_connection((served.host, served.port), timeout=10))
        assert served.request("GET", "/healthz", timeout=ANSWER_SECONDS)[0] == 200
        deadline = time.monotonic() + ANSWER_SECONDS
        still_open = [
            c
            for c in connections
            if not closed_by_server(c, within=max(0.1, deadline - time.monotonic()))
        ]
        assert still_open == []
        assert served.request("GET", "/healthz", timeout=ANSWER_SECONDS)[0] == 200
    finally:
        for connection in connections:
            connection.close()


def test_a_client_trickling_its_headers_is_cut_off(served: Served) -> None:
    # a byte every 0.1 s is never idle long enough for the idle timeout: the request's own
    # deadline must end it
    with socket.create_connection((served.host, served.port), timeout=10) as connection:
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: ci\r\nX-Pad: ")
        deadline = time.monotonic() + ANSWER_SECONDS
        closed = False
        while not closed and time.monotonic() < deadline:
            try:
                connection.sendall(b"a")
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            readable, _, _ = select.select([connection], [], [], 0.1)
            if readable:
                closed = closed_by_server(connection, within=1.0)
        assert closed


def test_200_clients_making_3000_requests_all_get_answers(served: Served) -> None:
    served.ready = (True, "last pass finished")
    paths = ["/healthz", "/readyz", "/metrics"]

    def client(number: int) -> list[int]:
        # a new connection per request, as probes and webhooks come
        return [
            served.request("GET", paths[(number + i) % 3], timeout=LOADED_REQUEST_SECONDS)[0]
            for i in range(15)
        ]

    with ThreadPoolExecutor(max_workers=200) as pool:
        answers = [status for statuses in pool.map(client, range(200)) for status in statuses]
    assert len(answers) == 3000
    assert set(answers) == {200}


def test_stop_is_quick_with_slow_clients_connected() -> None:
    s = Served(HttpLimits())
    s.server.start()
    connections = [socket.create_connection((s.host, s.port), timeout=10) for _ in range(50)]
    try:
        for connection in connections:
            connection.sendall(b"GET /healthz HTTP/1.1\r\n")
        assert s.request("GET", "/healthz")[0] == 200
        started = time.monotonic()
        s.server.stop()
        assert time.monotonic() - started < 5
        assert all(closed_by_server(c, within=5) for c in connections)
    finally:
        for connection in connections:
            connection.close()
