"""The status page's HTML and JSON: escaped everywhere, a strict policy, cheap to poll.

Rendering is pure (tested on values); the endpoints are tested on the real HTTP server on
loopback, with a snapshot of the test's own.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from prometheus_client import CollectorRegistry

from controller.core.status_table import StatusRow
from controller.service.http import Endpoints, HttpServer
from controller.service.status_page import (
    CONTENT_SECURITY_POLICY,
    EVENT_CHARACTERS,
    EVENTS_SHOWN,
    page_document,
    page_title,
    recent_events,
    render_page,
)
from controller.service.status_snapshot import Snapshot

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
HOSTILE = "<script>alert(1)</script>"
ATTRIBUTE = '"><img src=x onerror=alert(2)>'


def _rows() -> list[StatusRow]:
    return [
        StatusRow(
            env="staging",
            service="web",
            result="Synced",
            message="deployed",
            commit="a" * 40,
            image="nginx:1.27",
            updated_at="2026-01-02T03:00:05Z",
        ),
        StatusRow(
            env="staging",
            service=ATTRIBUTE,
            result="Failed",
            phase=HOSTILE,
            message=f"tasks stopped: {HOSTILE}",
            image=f"nginx:{HOSTILE}",
        ),
    ]


def _events() -> dict[str, list[dict[str, str]]]:
    return {f"staging/{ATTRIBUTE}": [{"at": "2026-01-02T03:04:00Z", "message": f"event {HOSTILE}"}]}


def _page() -> str:
    document = page_document(_rows(), events=_events(), now=NOW, generated_at="then")
    return render_page(document, title=f"ecs-gitops: {HOSTILE}", now=NOW)


def test_every_value_on_the_page_is_escaped() -> None:
    page = _page()
    # the page's own script, and no other: not in a cell, not through an attribute
    assert page.count("<script") == 1
    assert "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'data-key="staging/&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"' in page
    assert "event &lt;script&gt;" in page
    # the table as `status` shows it: what needs attention first, ages, short commits
    services = re.findall(r'<td class="service">(.*?)</td>', page)
    assert services == ["&quot;&gt;&lt;img src=x onerror=alert(2)&gt;", "web"]
    assert '<td class="age">4m</td>' in page
    assert '<td class="commit">aaaaaaa</td>' in page
    assert '<td class="imageTag">1.27</td>' in page


def test_the_script_never_builds_html_from_the_document() -> None:
    script = re.search(r"<script>(.*?)</script>", _page(), re.S)
    assert script is not None
    assert "innerHTML" not in script.group(1)
    assert "insertAdjacentHTML" not in script.group(1)
    assert "document.write" not in script.group(1)
    assert "textContent" in script.group(1)


def test_the_policy_allows_exactly_the_inline_script_and_style_of_the_page() -> None:
    page = _page()
    for tag, directive in (("script", "script-src"), ("style", "style-src")):
        found = re.search(rf"<{tag}>(.*?)</{tag}>", page, re.S)
        assert found is not None
        digest = base64.b64encode(hashlib.sha256(found.group(1).encode()).digest()).decode()
        assert f"{directive} 'sha256-{digest}'" in CONTENT_SECURITY_POLICY
    assert "default-src 'none'" in CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert "connect-src 'self'" in CONTENT_SECURITY_POLICY


def test_the_page_works_without_javascript_and_without_the_network() -> None:
    page = _page()
    assert '<noscript><meta http-equiv="refresh"' in page
    # no external assets: nothing is fetched from anywhere but the controller
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "@import" not in page


def test_the_json_is_the_status_document_plus_the_page_keys() -> None:
    document = page_document(_rows(), events=_events(), now=NOW, generated_at="then")
    assert [s["service"] for s in document["services"]] == [ATTRIBUTE, "web"]
    assert document["summary"] == {"Failed": 1, "Synced": 1}
    assert document["needsAttention"] is True
    assert document["events"] == _events()
    assert document["summaryLine"] == "2 services: 1 Failed, 1 Synced"
    empty = page_document([], events={}, now=NOW, generated_at=None, note="no pass yet")
    assert empty["summaryLine"] == "no pass yet"


@pytest.mark.parametrize(
    ("details", "expected"),
    [
        (None, []),
        ({"events": "not a list"}, []),
        ({"events": [{"at": "t", "message": "m"}]}, [{"at": "t", "message": "m"}]),
        ({"events": ["plain text"]}, [{"at": "", "message": "plain text"}]),
        ({"events": [{"at": "t"}, {"message": {"nested": 1}}, 7]}, [{"at": "", "message": "7"}]),
    ],
)
def test_recent_events_take_only_what_looks_like_an_event(
    details: dict[str, object] | None, expected: list[dict[str, str]]
) -> None:
    assert recent_events(details) == expected


def test_recent_events_are_few_and_short() -> None:
    found = recent_events({"events": [{"message": "x" * 10_000}] * 50})
    assert len(found) == EVENTS_SHOWN
    assert all(len(event["message"]) == EVENT_CHARACTERS for event in found)


@pytest.mark.parametrize(
    ("url", "title"),
    [
        ("https://***@github.com/acme/config.git", "ecs-gitops: config (main)"),
        ("git@github.com:acme/deploy.git", "ecs-gitops: deploy (main)"),
        ("/srv/git/config/", "ecs-gitops: config (main)"),
    ],
)
def test_the_title_names_the_repository_not_its_location(url: str, title: str) -> None:
    assert page_title(url, "main") == title


class _Page:
    """The HTTP server with a snapshot the test sets."""

    def __init__(self) -> None:
        self.snapshot = Snapshot(
            version=1, instance="test", rows=tuple(_rows()), events=_events(), read_at="then"
        )
        self.server = HttpServer(
            host="127.0.0.1",
            port=0,
            endpoints=Endpoints(
                registry=CollectorRegistry(),
                readiness=lambda: (True, "ok"),
                on_push=lambda verdict: None,
                branch="main",
                status=lambda: self.snapshot,
            ),
        )
        self.host, port = self.server.address.rsplit(":", 1)
        self.port = int(port)

    def get(
        self, path: str, headers: dict[str, str] | None = None, *, method: str = "GET"
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            connection.request(method, path, headers=headers or {})
            answer = connection.getresponse()
            return answer.status, answer.headers, answer.read()
        finally:
            connection.close()


@pytest.fixture
def page() -> Iterator[_Page]:
    served = _Page()
    served.server.start()
    yield served
    served.server.stop()


def test_the_page_is_served_with_its_policy(page: _Page) -> None:
    status, headers, body = page.get("/")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert body.count(b"<script") == 1
    status, headers, body = page.get("/", method="HEAD")
    assert status == 200 and body == b""


def test_the_json_is_answered_once_per_reading(page: _Page) -> None:
    status, headers, body = page.get("/api/status")
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    document = json.loads(body)
    assert document["summary"] == {"Failed": 1, "Synced": 1}
    tag = headers["ETag"]
    # polled again with nothing new: a 304, no body
    status, _, body = page.get("/api/status", {"If-None-Match": tag})
    assert (status, body) == (304, b"")
    page.snapshot = Snapshot(version=2, instance="test", rows=tuple(_rows()[:1]))
    status, headers, body = page.get("/api/status", {"If-None-Match": tag})
    assert status == 200 and headers["ETag"] != tag
    assert json.loads(body)["summary"] == {"Synced": 1}


def test_many_readers_at_once_are_all_answered(page: _Page) -> None:
    answers: list[int] = []
    lock = threading.Lock()

    def read() -> None:
        status, _, _ = page.get("/" if len(answers) % 2 else "/api/status")
        with lock:
            answers.append(status)

    threads = [threading.Thread(target=read) for _ in range(60)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert answers == [200] * 60


def test_without_a_status_page_the_root_is_not_found() -> None:
    server = HttpServer(
        host="127.0.0.1",
        port=0,
        endpoints=Endpoints(
            registry=CollectorRegistry(),
            readiness=lambda: (True, "ok"),
            on_push=lambda verdict: None,
            branch="main",
        ),
    )
    server.start()
    try:
        host, port = server.address.rsplit(":", 1)
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        connection.request("GET", "/api/status")
        assert connection.getresponse().status == 404
        connection.close()
    finally:
        server.stop()
