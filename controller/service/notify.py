"""Notifications of ``run``: rollout events posted to webhooks and GitHub commit statuses.

When a rollout ends, one JSON message per event goes to each URL that asked for it (``run
--notify URL``, or ``notify:`` in the service's environment.yaml): Slack's format (``text``
plus ``blocks``) for a Slack incoming webhook, else this document::

    {"kind": "ecs-gitops.rollout", "event": "rolled-back", "env": "staging",
     "service": "web", "commit": "<config commit sha>", "result": "RolledBack",
     "reason": "<the status message>", "phase": "...", "strategy": "rolling",
     "action": "update", "statusUrl": "https://github.com/ORG/REPO/blob/...", "controller":
     "<host/id>", "time": "2024-05-01T12:00:00Z"}

(``phase`` and ``statusUrl`` are null when unknown.) With a GitHub token, each rollout also
sets the commit status ``ecs-gitops/ENV/SERVICE`` on its config commit: pending when it
starts, success when Synced, failure when RolledBack or Failed.

Delivery never holds a rollout up: messages go into a bounded queue that worker threads
send, each attempt with a timeout, retried with exponential backoff and jitter for network
errors, 429 and 5xx answers, up to a number of attempts. A full queue drops the message. Every
message sent, failed or dropped is counted in ``ecs_gitops_notifications_total`` and the
failures are logged (naming the receiver's host only: a webhook URL is a secret). Does I/O:
HTTP requests, threads, the log.
"""

from __future__ import annotations

import json
import logging
import queue
import random
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from controller.core.model import NOTIFY_EVENTS
from controller.core.outcome import Result
from controller.reconcile import RolloutStart, ServiceResult
from controller.service.events import of_service
from controller.service.logs import event

log = logging.getLogger("ecs-gitops")

GITHUB_API = "https://api.github.com"
# GitHub refuses a commit status description longer than this.
_GITHUB_DESCRIPTION = 140
# https://github.com/ORG/REPO(.git) or git@github.com:ORG/REPO(.git)
_GITHUB_REMOTE = re.compile(
    r"^(?:https://(?:[^@/]+@)?github\.com/|git@github\.com:|ssh://git@github\.com/)"
    r"(?P<repository>[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+?)(?:\.git)?/?$"
)
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_COLOURS = {
    "rolled-back": ":rotating_light:",
    "failed": ":x:",
    "synced": ":white_check_mark:",
    "drift": ":warning:",
    "paused": ":double_vertical_bar:",
}


def github_repository(remote: str) -> str | None:
    """``ORG/REPO`` of a GitHub remote URL, else None."""
    found = _GITHUB_REMOTE.match(remote.strip())
    return found["repository"] if found else None


def check_repository(value: str) -> str:
    """``--github-repository``: ``ORG/REPO``, or ValueError."""
    if not _REPOSITORY.match(value):
        raise ValueError(f"expected ORG/REPO, got {value!r}")
    return value


@dataclass(frozen=True)
class Notification:
    """One rollout event, as every receiver is told of it."""

    event: str  # one of NOTIFY_EVENTS, or "started" (GitHub's pending status only)
    env: str
    service: str
    commit: str | None
    result: str
    reason: str
    strategy: str | None = None
    phase: str | None = None
    action: str | None = None
    status_url: str | None = None
    controller: str | None = None
    time: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))

    @property
    def key(self) -> str:
        return f"{self.env}/{self.service}"

    def document(self) -> dict[str, Any]:
        """The documented JSON message (see the module's docstring)."""
        return {
            "kind": "ecs-gitops.rollout",
            "event": self.event,
            "env": self.env,
            "service": self.service,
            "commit": self.commit,
            "result": self.result,
            "reason": self.reason,
            "phase": self.phase,
            "strategy": self.strategy,
            "action": self.action,
            "statusUrl": self.status_url,
            "controller": self.controller,
            "time": self.time,
        }

    def slack(self) -> dict[str, Any]:
        """A Slack incoming webhook's message: ``text`` (notifications) and ``blocks``."""
        commit = (self.commit or "")[:12] or "unknown commit"
        text = f"{self.key}: {self.result} at {commit}: {self.reason}"
        facts = [f"*Environment:* {self.env}", f"*Service:* {self.service}"]
        facts += [f"*Result:* {self.result}", f"*Commit:* `{commit}`"]
        if self.strategy:
            facts.append(f"*Strategy:* {self.strategy}")
        if self.phase:
            facts.append(f"*Phase:* {self.phase}")
        headline = f"{_COLOURS.get(self.event, '')} *{_slack_escape(self.key)}* {self.result}"
        blocks: list[dict[str, Any]] = [
            {"type": "section", "text": {"type": "mrkdwn", "text": headline.strip()}},
            {
                "type": "section",
                "fields": [{"type": "mrkdwn", "text": _slack_escape(f)} for f in facts],
            },
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": _slack_escape(self.reason)[:2900] or "-"},
            },
        ]
        context = f"ecs-gitops {self.controller or ''}".strip()
        if self.status_url:
            context += f" · <{self.status_url}|status file>"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
        return {"text": _slack_escape(text), "blocks": blocks}

    def github_status(self) -> dict[str, Any]:
        """The body of GitHub's "create a commit status" for this event."""
        state = {"started": "pending", "synced": "success", "drift": "success"}.get(
            self.event, "failure"
        )
        body: dict[str, Any] = {
            "state": state,
            "context": f"ecs-gitops/{self.key}",
            "description": _cut(f"{self.result}: {self.reason}", _GITHUB_DESCRIPTION),
        }
        if self.status_url:
            body["target_url"] = self.status_url
        return body


def _slack_escape(text: str) -> str:
    # Slack's mrkdwn treats these three as control characters
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def event_of(result: ServiceResult) -> str | None:
    """The notification event of a rollout's end (None: nothing to tell)."""
    outcome = result.outcome.result
    if outcome == Result.ROLLED_BACK:
        return "rolled-back"
    if outcome == Result.FAILED:
        return "failed"
    if outcome == Result.PROGRESSING:
        return "paused"
    if outcome == Result.OUT_OF_SYNC:
        return "drift"
    if outcome == Result.SYNCED:
        # a self-heal put back what someone changed in ECS outside git
        return "drift" if result.action == "self-heal" else "synced"
    return None


@dataclass(frozen=True)
class Webhook:
    """A URL that gets the events in ``on``."""

    url: str
    on: frozenset[str] = frozenset(NOTIFY_EVENTS)

    @property
    def slack(self) -> bool:
        return urllib.parse.urlsplit(self.url).hostname == "hooks.slack.com"


@dataclass(frozen=True)
class GitHubStatuses:
    """Where commit statuses go: the API's base URL, ``ORG/REPO`` and the token."""

    repository: str
    token: str
    api_url: str = GITHUB_API


@dataclass(frozen=True)
class _Delivery:
    target: str  # "webhook" or "github", for the metrics
    url: str
    body: bytes
    headers: dict[str, str]
    what: str  # what is being told, for the log
    key: str  # ENV/SERVICE

    @property
    def host(self) -> str:
        # never the whole URL: a Slack webhook's path is its secret
        parts = urllib.parse.urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


class _Permanent(Exception):
    """An answer that sending again cannot change (4xx other than 429)."""


@dataclass(frozen=True)
class DeliveryPolicy:
    """How hard delivery tries: queue size per receiver, attempts, per-attempt timeout,
    backoff, and how many receivers get a lane of their own."""

    queue_size: int = 100
    attempts: int = 4
    timeout_seconds: float = 5.0
    backoff_seconds: float = 1.0
    lanes: int = 16


class Notifier:
    """Turns rollout starts and ends into messages and sends them on its own threads."""

    def __init__(
        self,
        *,
        webhooks: Sequence[Webhook] = (),
        github: GitHubStatuses | None = None,
        controller: str | None = None,
        status_url: Callable[[str], str | None] = lambda key: None,
        policy: DeliveryPolicy = DeliveryPolicy(),
        counted: Callable[[str, str], None] = lambda target, result: None,
    ) -> None:
        self._webhooks = tuple(webhooks)
        self._github = github
        self._controller = controller
        self._status_url = status_url
        self._policy = policy
        self._counted = counted
        self._stop = threading.Event()
        self._lock = threading.Lock()
        # one queue and thread per receiver (scheme://host): a receiver that hangs or fails
        # delays only its own messages, never another's
        self._lanes: dict[str, tuple[queue.Queue[_Delivery | None], threading.Thread]] = {}

    # ------------------------------------------------------------- what is told

    def rollout_started(self, start: RolloutStart) -> None:
        """A rollout starts (or resumes): GitHub's commit status goes pending."""
        if self._github is None:
            return
        desired = start.desired
        self._tell_github(
            Notification(
                event="started",
                env=desired.env.name,
                service=desired.name,
                commit=start.commit,
                result="Progressing",
                reason=f"rollout {'resumed' if start.resumed else 'started'} ({start.strategy})",
                strategy=start.strategy,
                phase=start.phase,
                status_url=self._status_url(desired.key),
                controller=self._controller,
            )
        )

    def rollout_ended(self, result: ServiceResult) -> None:
        """A rollout ended: its event goes to every URL that asked for it, and to GitHub."""
        kind = event_of(result)
        if kind is None:
            return
        env, _, service = result.key.partition("/")
        desired = result.desired
        details = result.outcome.details or {}
        phase = details.get("phase") if isinstance(details, dict) else None
        notification = Notification(
            event=kind,
            env=env,
            service=service,
            commit=result.commit,
            result=str(result.outcome.result),
            reason=result.outcome.message,
            strategy=str(desired.deploy.strategy) if desired is not None else None,
            phase=phase if isinstance(phase, str) else None,
            action=result.action,
            status_url=self._status_url(result.key),
            controller=self._controller,
        )
        rules = desired.env.notify if desired is not None else ()
        urls: dict[str, Webhook] = {}
        for hook in (*self._webhooks, *(Webhook(r.url, frozenset(r.on)) for r in rules)):
            if kind in hook.on and hook.url not in urls:
                urls[hook.url] = hook
        for hook in urls.values():
            body = notification.slack() if hook.slack else notification.document()
            self._enqueue(
                _Delivery(
                    target="webhook",
                    url=hook.url,
                    body=json.dumps(body).encode(),
                    headers={"Content-Type": "application/json"},
                    what=f"{kind} of {result.key}",
                    key=result.key,
                )
            )
        if kind != "paused":  # a paused rollout's commit status stays pending
            self._tell_github(notification)

    def _tell_github(self, notification: Notification) -> None:
        github = self._github
        if github is None or not notification.commit:
            return
        url = (
            f"{github.api_url.rstrip('/')}/repos/{github.repository}/statuses/{notification.commit}"
        )
        self._enqueue(
            _Delivery(
                target="github",
                url=url,
                body=json.dumps(notification.github_status()).encode(),
                headers={
                    "Content-Type": "application/json",
                    "Accept": "application/vnd.github+json",
                    "Authorization": f"Bearer {github.token}",
                    "X-GitHub-Api-Version": "2022-11-28",
                },
                what=f"commit status {notification.github_status()['state']} of {notification.key}",
                key=notification.key,
            )
        )

    # ------------------------------------------------------------- delivery

    def _lane(self, host: str) -> queue.Queue[_Delivery | None] | None:
        with self._lock:
            if self._stop.is_set():
                return None
            lane = self._lanes.get(host)
            if lane is None:
                if len(self._lanes) >= self._policy.lanes:
                    return None
                waiting: queue.Queue[_Delivery | None] = queue.Queue(
                    maxsize=max(1, self._policy.queue_size)
                )
                worker = threading.Thread(
                    target=self._work, args=(waiting,), name=f"notify {host}", daemon=True
                )
                lane = self._lanes[host] = (waiting, worker)
                worker.start()
            return lane[0]

    def _enqueue(self, delivery: _Delivery) -> None:
        if self._stop.is_set():
            return
        waiting = self._lane(delivery.host)
        try:
            if waiting is None:
                raise queue.Full
            waiting.put_nowait(delivery)
        except queue.Full:
            self._counted(delivery.target, "dropped")
            log.warning(
                "notification dropped: %s to %s (too many messages or receivers wait)",
                delivery.what,
                delivery.host,
                extra=event(of_service("notification", delivery.key)),
            )

    def _work(self, waiting: queue.Queue[_Delivery | None]) -> None:
        while True:
            delivery = waiting.get()
            if delivery is None:
                return
            try:
                self._deliver(delivery)
            except Exception:  # a bug here must not end the worker
                log.exception("notification: %s to %s", delivery.what, delivery.host)

    def _deliver(self, delivery: _Delivery) -> None:
        policy = self._policy
        problem = ""
        for attempt in range(1, policy.attempts + 1):
            try:
                _post(delivery, timeout=policy.timeout_seconds)
            except _Permanent as e:
                problem = str(e)
                break
            except (OSError, ValueError) as e:  # urllib's URLError and timeouts are OSErrors
                problem = str(getattr(e, "reason", None) or e)
            else:
                self._counted(delivery.target, "sent")
                return
            if attempt < policy.attempts:
                pause = policy.backoff_seconds * 2 ** (attempt - 1)
                # jitter, so that receivers coming back are not hit by every retry at once
                if self._stop.wait(pause * random.uniform(0.5, 1.0)):
                    break
        self._counted(delivery.target, "failed")
        log.warning(
            "notification failed: %s to %s: %s",
            delivery.what,
            delivery.host,
            problem or "stopping",
            extra=event(of_service("notification", delivery.key)),
        )

    def close(self, *, timeout: float) -> None:
        """Send what waits for up to ``timeout`` seconds, then stop (the rest is dropped)."""
        until = time.monotonic() + timeout
        with self._lock:
            lanes = list(self._lanes.values())
        for waiting, _ in lanes:
            try:
                waiting.put_nowait(None)
            except queue.Full:
                self._stop.set()  # no more retries: each waiting message gets one attempt
        for _, worker in lanes:
            worker.join(max(0.0, until - time.monotonic()))
        # what is left is dropped (the threads are daemons: they never hold the exit up)
        self._stop.set()


def _post(delivery: _Delivery, *, timeout: float) -> None:
    # only the web: urllib would also "post" to file:, ftp: or data: URLs
    if urllib.parse.urlsplit(delivery.url).scheme not in ("http", "https"):
        raise _Permanent("not an http or https URL")
    request = urllib.request.Request(
        delivery.url, data=delivery.body, headers=delivery.headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            answer.read(65536)
    except urllib.error.HTTPError as e:
        if 400 <= e.code < 500 and e.code != 429:
            raise _Permanent(f"HTTP {e.code} {e.reason}") from e
        raise OSError(f"HTTP {e.code} {e.reason}") from e


def webhooks_from(urls: Iterable[str]) -> list[Webhook]:
    """``--notify`` URLs: every event goes to each."""
    return [Webhook(url) for url in dict.fromkeys(urls)]
