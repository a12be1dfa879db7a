"""Webhook authentication and push filtering (pure): GitHub HMAC signatures, GitLab tokens,
the nesting guard, and replayed deliveries."""

from __future__ import annotations

import json

import pytest

from controller.service.webhook import (
    MAX_JSON_DEPTH,
    RecentDeliveries,
    github_signature,
    json_depth_exceeds,
    judge,
)

SECRET = b"it-is-a-secret"
PUSH = json.dumps({"ref": "refs/heads/main", "after": "a" * 40}).encode()


def signed(body: bytes, secret: bytes = SECRET, **extra: str) -> dict[str, str]:
    return {"X-Hub-Signature-256": github_signature(secret, body), **extra}


def test_a_signed_github_push_to_the_branch_asks_for_a_pass() -> None:
    verdict = judge(signed(PUSH, **{"X-GitHub-Event": "push"}), PUSH, secret=SECRET, branch="main")
    assert (verdict.status, verdict.trigger, verdict.after) == (202, True, "a" * 40)


def test_header_names_are_case_insensitive() -> None:
    headers = {"x-hub-signature-256": github_signature(SECRET, PUSH)}
    assert judge(headers, PUSH, secret=SECRET, branch="main").trigger


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Hub-Signature-256": ""},
        {"X-Hub-Signature-256": "sha256=" + "0" * 64},
        signed(PUSH, secret=b"another secret"),
        signed(PUSH + b"\n"),
        {"X-Hub-Signature-256": github_signature(SECRET, PUSH).replace("sha256=", "sha1=")},
        {"X-Gitlab-Token": "it-is-a-secreT"},
        {"X-Gitlab-Token": ""},
    ],
    ids=[
        "unsigned",
        "empty",
        "zeros",
        "other-secret",
        "other-body",
        "wrong-scheme",
        "gitlab-wrong",
        "gitlab-empty",
    ],
)
def test_unsigned_or_wrongly_signed_requests_are_401_and_trigger_nothing(
    headers: dict[str, str],
) -> None:
    verdict = judge(headers, PUSH, secret=SECRET, branch="main")
    assert (verdict.status, verdict.trigger) == (401, False)


def test_a_gitlab_push_with_the_right_token_asks_for_a_pass() -> None:
    headers = {"X-Gitlab-Token": SECRET.decode(), "X-Gitlab-Event": "Push Hook"}
    assert judge(headers, PUSH, secret=SECRET, branch="main").trigger


def test_without_a_configured_secret_the_webhook_is_off() -> None:
    verdict = judge(signed(PUSH), PUSH, secret=None, branch="main")
    assert (verdict.status, verdict.trigger) == (404, False)


@pytest.mark.parametrize(
    ("event", "body", "status"),
    [
        ("ping", b"{}", 200),
        ("issues", b"{}", 202),
        ("push", json.dumps({"ref": "refs/heads/feature"}).encode(), 202),
        ("push", json.dumps({"ref": "refs/tags/v1"}).encode(), 202),
    ],
)
def test_authentic_events_that_change_nothing_are_answered_without_a_pass(
    event: str, body: bytes, status: int
) -> None:
    verdict = judge(signed(body, **{"X-GitHub-Event": event}), body, secret=SECRET, branch="main")
    assert (verdict.status, verdict.trigger) == (status, False)


def test_an_authentic_push_without_a_readable_body_still_asks_for_a_pass() -> None:
    body = b"not json"
    assert judge(signed(body), body, secret=SECRET, branch="main").trigger


def nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


@pytest.mark.parametrize(
    ("body", "too_deep"),
    [
        (nested(MAX_JSON_DEPTH), False),
        (nested(MAX_JSON_DEPTH + 1), True),
        (b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH, False),
        (b"[" * 100_000 + b"]" * 100_000, True),
        # brackets inside strings, escaped quotes included, do not nest
        (json.dumps({"message": "[" * 1000, "q": '"{' * 500}).encode(), False),
        (b"[" * 3 + b"]" * 10 + b"[" * 10, False),
        (b"[]" * 100_000, False),
        (b"", False),
        (b"not json", False),
    ],
    ids=["at-limit", "past-limit", "arrays-at-limit", "100k", "strings", "unbalanced", "flat",
         "empty", "not-json"],
)  # fmt: skip
def test_the_nesting_guard_counts_brackets_outside_strings(body: bytes, too_deep: bool) -> None:
    assert json_depth_exceeds(body, MAX_JSON_DEPTH) is too_deep


def test_a_signed_body_nested_too_deep_is_400_and_an_unsigned_one_401() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    verdict = judge(signed(deep), deep, secret=SECRET, branch="main")
    assert (verdict.status, verdict.trigger) == (400, False)
    assert judge({}, deep, secret=SECRET, branch="main").status == 401


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_delivery_is_a_duplicate_for_an_hour_then_new_again() -> None:
    clock = Clock()
    deliveries = RecentDeliveries(clock=clock)
    headers = signed(PUSH, **{"X-GitHub-Event": "push", "X-GitHub-Delivery": "d-1"})
    first = judge(headers, PUSH, secret=SECRET, branch="main", deliveries=deliveries)
    assert (first.status, first.trigger) == (202, True)
    clock.now += 3599
    again = judge(headers, PUSH, secret=SECRET, branch="main", deliveries=deliveries)
    assert (again.status, again.reason, again.trigger) == (
        200,
        "duplicate delivery, ignored",
        False,
    )
    clock.now += 2
    later = judge(headers, PUSH, secret=SECRET, branch="main", deliveries=deliveries)
    assert later.trigger


def test_without_a_delivery_id_every_push_asks_for_a_pass() -> None:
    deliveries = RecentDeliveries(clock=Clock())
    for _ in range(2):
        assert judge(
            signed(PUSH), PUSH, secret=SECRET, branch="main", deliveries=deliveries
        ).trigger
    assert len(deliveries) == 0


def test_wrongly_signed_replays_are_not_remembered() -> None:
    deliveries = RecentDeliveries(clock=Clock())
    forged = signed(PUSH, secret=b"guess", **{"X-GitHub-Delivery": "d-2"})
    assert judge(forged, PUSH, secret=SECRET, branch="main", deliveries=deliveries).status == 401
    genuine = signed(PUSH, **{"X-GitHub-Delivery": "d-2"})
    assert judge(genuine, PUSH, secret=SECRET, branch="main", deliveries=deliveries).trigger


def test_gitlab_retries_are_known_by_their_idempotency_key() -> None:
    deliveries = RecentDeliveries(clock=Clock())
    base = {"X-Gitlab-Token": SECRET.decode(), "X-Gitlab-Event": "Push Hook"}
    first = {**base, "Idempotency-Key": "k-1", "X-Gitlab-Event-UUID": "e-1"}
    retry = {**base, "Idempotency-Key": "k-1", "X-Gitlab-Event-UUID": "e-2"}
    assert judge(first, PUSH, secret=SECRET, branch="main", deliveries=deliveries).trigger
    verdict = judge(retry, PUSH, secret=SECRET, branch="main", deliveries=deliveries)
    assert (verdict.status, verdict.trigger) == (200, False)


def test_the_same_id_from_github_and_gitlab_are_two_deliveries() -> None:
    deliveries = RecentDeliveries(clock=Clock())
    assert deliveries.first_time("github", "same")
    assert deliveries.first_time("gitlab", "same")
    assert not deliveries.first_time("github", "same")


def test_the_memory_of_deliveries_is_bounded_oldest_first() -> None:
    clock = Clock()
    deliveries = RecentDeliveries(clock=clock, size=3)
    for number in range(5):
        clock.now += 1
        assert deliveries.first_time("github", f"d-{number}" + "x" * 10_000)
    assert len(deliveries) == 3
    # the two oldest were forgotten, the newest are still known
    assert deliveries.first_time("github", "d-0" + "x" * 10_000)
    assert not deliveries.first_time("github", "d-4" + "x" * 10_000)
