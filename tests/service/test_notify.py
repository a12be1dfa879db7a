"""Notifications: what each receiver is sent, and delivery that retries, is bounded and never
waits on a receiver that fails or hangs (real HTTP receivers on loopback)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from controller.core.outcome import Outcome, Result
from controller.reconcile import ServiceResult
from controller.service.notify import (
    DeliveryPolicy,
    GitHubStatuses,
    Notification,
    Notifier,
    Webhook,
    event_of,
    github_repository,
)
from tests.service.receiver import Receiver

COMMIT = "0123456789abcdef0123456789abcdef01234567"
FAST = DeliveryPolicy(attempts=3, timeout_seconds=0.5, backoff_seconds=0.05)


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    made: list[Receiver] = []
    yield made
    for r in made:
        r.close()


def receiver(made: list[Receiver], **kwargs: bool | int) -> Receiver:
    r = Receiver(**kwargs)  # type: ignore[arg-type]
    made.append(r)
    return r


def ended(result: Result, *, action: str = "update", message: str = "why") -> ServiceResult:
    return ServiceResult(
        "staging/web", Outcome(result, message), action=action, commit=COMMIT, seconds=3.0
    )


class Counts:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def __call__(self, target: str, result: str) -> None:
        self.seen.append((target, result))

    def wait_for(self, wanted: tuple[str, str], *, timeout: float = 20.0) -> None:
        until = time.monotonic() + timeout
        while wanted not in self.seen:
            assert time.monotonic() < until, self.seen
            time.sleep(0.02)


@pytest.mark.parametrize(
    ("result", "action", "kind"),
    [
        (Result.ROLLED_BACK, "update", "rolled-back"),
        (Result.FAILED, "error", "failed"),
        (Result.SYNCED, "update", "synced"),
        (Result.SYNCED, "self-heal", "drift"),
        (Result.PROGRESSING, "update", "paused"),
        (Result.INVALID, "invalid", None),
    ],
)
def test_the_event_of_a_rollouts_end(result: Result, action: str, kind: str | None) -> None:
    assert event_of(ended(result, action=action)) == kind


@pytest.mark.parametrize(
    ("remote", "repository"),
    [
        ("https://github.com/acme/config.git", "acme/config"),
        ("https://github.com/acme/config", "acme/config"),
        ("https://x-access-token:t0ken@github.com/acme/config.git", "acme/config"),
        ("git@github.com:acme/config.git", "acme/config"),
        ("ssh://git@github.com/acme/config", "acme/config"),
        ("https://gitlab.com/acme/config.git", None),
        ("/srv/git/config.git", None),
    ],
)
def test_github_repository_of_a_remote(remote: str, repository: str | None) -> None:
    assert github_repository(remote) == repository


def test_a_receiver_gets_the_documented_document(receivers: list[Receiver]) -> None:
    r = receiver(receivers)
    counts = Counts()
    notifier = Notifier(
        webhooks=[Webhook(f"{r.url}/hook")],
        controller="host/0123456789ab",
        status_url=lambda key: f"https://github.com/acme/config/blob/main/{key}.yaml",
        policy=FAST,
        counted=counts,
    )
    notifier.rollout_ended(ended(Result.ROLLED_BACK, message="tasks stopped: exit code 1"))
    [got] = r.wait_for(1)
    assert got.path == "/hook"
    assert got.headers["Content-Type"] == "application/json"
    body = got.body
    assert body["kind"] == "ecs-gitops.rollout"
    assert (body["event"], body["env"], body["service"], body["commit"]) == (
        "rolled-back",
        "staging",
        "web",
        COMMIT,
    )
    assert (body["result"], body["reason"]) == ("RolledBack", "tasks stopped: exit code 1")
    assert body["statusUrl"] == "https://github.com/acme/config/blob/main/staging/web.yaml"
    assert body["controller"] == "host/0123456789ab"
    counts.wait_for(("webhook", "sent"))
    notifier.close(timeout=1)


def test_only_the_events_a_webhook_asked_for_are_sent(receivers: list[Receiver]) -> None:
    r = receiver(receivers)
    notifier = Notifier(webhooks=[Webhook(r.url, frozenset({"failed"}))], policy=FAST)
    notifier.rollout_ended(ended(Result.SYNCED))
    notifier.rollout_ended(ended(Result.FAILED, action="error"))
    assert [b["event"] for b in [x.body for x in r.wait_for(1)]] == ["failed"]
    notifier.close(timeout=1)
    assert len(r.received) == 1


def test_slack_webhooks_get_text_and_blocks() -> None:
    hook = Webhook("https://hooks.slack.com/services/T000/B000/XXXX")
    assert hook.slack and not Webhook("https://example.com/hooks.slack.com").slack
    message = Notification(
        event="rolled-back",
        env="prod",
        service="web",
        commit=COMMIT,
        result="RolledBack",
        reason="tasks stopped: <script>alert(1)</script> & more",
        strategy="rolling",
    ).slack()
    assert message["text"].startswith("prod/web: RolledBack at 0123456789ab")
    assert "<script>" not in message["text"] and "&lt;script&gt;" in message["text"]
    assert [b["type"] for b in message["blocks"]] == ["section", "section", "section", "context"]


def test_a_failing_receiver_is_retried_then_counted_and_never_holds_another_up(
    receivers: list[Receiver],
) -> None:
    failing = receiver(receivers, answer=500)
    hanging = receiver(receivers, hang=True)
    good = receiver(receivers)
    counts = Counts()
    notifier = Notifier(
        webhooks=[Webhook(hanging.url), Webhook(failing.url), Webhook(good.url)],
        policy=FAST,
        counted=counts,
    )
    started = time.monotonic()
    notifier.rollout_ended(ended(Result.SYNCED))
    # telling is queueing: it returns at once whatever the receivers do
    assert time.monotonic() - started < 0.2
    good.wait_for(1, timeout=5)
    counts.wait_for(("webhook", "failed"))
    assert len(failing.received) == FAST.attempts
    assert hanging.holding >= 1
    notifier.close(timeout=0.1)


def test_a_refused_message_is_not_sent_again(receivers: list[Receiver]) -> None:
    refusing = receiver(receivers, answer=404)
    counts = Counts()
    notifier = Notifier(webhooks=[Webhook(refusing.url)], policy=FAST, counted=counts)
    notifier.rollout_ended(ended(Result.SYNCED))
    counts.wait_for(("webhook", "failed"))
    assert len(refusing.received) == 1
    notifier.close(timeout=1)


def test_a_url_that_is_not_http_is_never_opened(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("do not read me")
    counts = Counts()
    notifier = Notifier(webhooks=[Webhook(secret.as_uri())], policy=FAST, counted=counts)
    notifier.rollout_ended(ended(Result.SYNCED))
    counts.wait_for(("webhook", "failed"))
    assert counts.seen.count(("webhook", "failed")) == 1  # refused once, never retried
    notifier.close(timeout=1)


def test_a_full_queue_drops_and_counts(receivers: list[Receiver]) -> None:
    hanging = receiver(receivers, hang=True)
    counts = Counts()
    policy = DeliveryPolicy(queue_size=2, attempts=1, timeout_seconds=5)
    notifier = Notifier(webhooks=[Webhook(hanging.url)], policy=policy, counted=counts)
    for _ in range(6):
        notifier.rollout_ended(ended(Result.SYNCED))
    # one in flight, two waiting: the rest is dropped
    hanging.wait_for(1)
    assert counts.seen.count(("webhook", "dropped")) >= 3
    notifier.close(timeout=0.1)


def test_github_commit_statuses(receivers: list[Receiver]) -> None:
    api = receiver(receivers)
    notifier = Notifier(
        github=GitHubStatuses(repository="acme/config", token="ghp_token", api_url=api.url + "/"),
        policy=FAST,
    )
    notifier.rollout_ended(ended(Result.ROLLED_BACK, message="x" * 300))
    notifier.rollout_ended(ended(Result.SYNCED))
    notifier.rollout_ended(ended(Result.PROGRESSING))  # a pause leaves it pending
    got = api.wait_for(2)
    notifier.close(timeout=1)
    assert len(api.received) == 2
    assert {g.path for g in got} == {f"/repos/acme/config/statuses/{COMMIT}"}
    assert [g.body["state"] for g in got] == ["failure", "success"]
    assert all(g.body["context"] == "ecs-gitops/staging/web" for g in got)
    assert len(got[0].body["description"]) == 140
    assert got[0].headers["Authorization"] == "Bearer ghp_token"
