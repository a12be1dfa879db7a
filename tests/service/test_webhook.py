"""Webhook authentication and push filtering (pure): GitHub HMAC signatures, GitLab tokens."""

from __future__ import annotations

import json

import pytest

from controller.service.webhook import github_signature, judge

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
