"""What a log line of ``run`` is about, as fields: the structured side of the controller's log.

The pass and the rollouts report plain lines (``  staging/web: ECS: ...``, summaries such as
``staging/web: Synced (update, 1.2s) message``); their shapes are well known and parsed here,
in one place, into a ``LogEvent``, so that ``--log-format json`` carries ``event``, ``env``,
``service``, ``result``... while the text lines stay exactly as they are. What a line cannot
say (the config commit and the strategy of a rollout under way) comes from ``RolloutsUnderWay``,
which ``run`` fills when a rollout starts. Purely computational (a lock, no I/O).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, replace
from typing import Any

# The sync results a summary line starts with (controller.core.outcome.Result's values).
_RESULTS = "Synced|OutOfSync|Progressing|Failed|RolledBack|Invalid|Unknown"
# ``staging/web: Synced (update, 1.2s) message`` (reconcile's summary of one service)
_SUMMARY = re.compile(
    rf"^(?P<key>[^\s/:]+/[^\s:]+): (?P<result>{_RESULTS}) "
    r"\((?P<action>[^,()]+), (?P<seconds>[0-9.]+)s\)"
)
# ``  staging/web: text`` (a line a service's pass or rollout reports)
_SERVICE_LINE = re.compile(r"^\s*(?P<key>[^\s/:]+/[^\s:]+): (?P<text>.*)$", re.DOTALL)
# ``(phase deploy)`` of a resumed rollout, ``paused in phase deploy`` of a paused one
_PHASE = re.compile(r"(?:\(| in )phase (?P<phase>[A-Za-z0-9_-]+)")
_PASS_OVER = re.compile(r"^pass over (?P<commit>[0-9a-f]{7,40}):")
_FINISHED_IN = re.compile(r"\(finished in (?P<seconds>[0-9.]+)s\)$")

# What a service's line is, by how it starts (first match wins).
_SERVICE_EVENTS = (
    ("ECS: ", "ecs-event"),
    ("waiting: ", "waiting"),
    ("resuming the rollout", "rollout-resumed"),
    ("deploy failed", "deploy-failed"),
    ("job failed", "deploy-failed"),
    ("verification failed", "deploy-failed"),
    ("retrying in ", "retrying"),
    ("status not pushed", "status-not-pushed"),
    ("a rollout is under way", "deferred"),
    ("git moved on from", "rollout-superseded"),
    ("the superseded rollout", "rollout-superseded"),
)
# What a line of the service itself is, by how it starts (first match wins).
_PROCESS_EVENTS = (
    ("pass requested", "pass-requested"),
    ("pass started", "pass-started"),
    ("pass failed", "pass-failed"),
    ("rollout failed", "rollout-failed"),
    ("rollout started", "rollout-started"),
    ("status committed", "status-committed"),
    ("webhook", "webhook"),
    ("notification", "notification"),
    ("ecs-gitops run:", "controller-started"),
    ("watching ", "watch-started"),
    ("stopped watching", "watch-stopped"),
    ("deploying only to", "allow-list"),
    ("stopping", "stopping"),
    ("second ", "stopping"),
    ("stopped cleanly", "stopped"),
    ("HTTP ", "http-error"),
    ("not deployed: ", "not-deployed"),
)
# actions of a summary line that say the service was left as it is, not rolled out
_LEFT_ALONE = {"held": "held", "claimed-elsewhere": "claimed-elsewhere"}


@dataclass(frozen=True)
class LogEvent:
    """One log line's structured fields (``event`` always; the others where they apply)."""

    event: str
    env: str | None = None
    service: str | None = None
    commit: str | None = None
    result: str | None = None
    phase: str | None = None
    strategy: str | None = None
    action: str | None = None
    duration_seconds: float | None = None

    def fields(self) -> dict[str, Any]:
        """The fields set, as the JSON log names them (camelCase, as the status files do)."""
        named = {
            "event": self.event,
            "env": self.env,
            "service": self.service,
            "commit": self.commit,
            "result": self.result,
            "phase": self.phase,
            "strategy": self.strategy,
            "action": self.action,
            "durationSeconds": self.duration_seconds,
        }
        return {k: v for k, v in named.items() if v is not None}


def of_service(event: str, key: str, **fields: Any) -> LogEvent:
    """An event of the service ``key`` (``ENV/SERVICE``)."""
    env, _, service = key.partition("/")
    return LogEvent(event, env=env, service=service, **fields)


@dataclass(frozen=True)
class _UnderWay:
    commit: str
    strategy: str
    phase: str | None


class RolloutsUnderWay:
    """The rollouts under way as the log knows them: a line about such a service gets its
    config commit and strategy. Thread-safe; bounded by the number of services."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._under_way: dict[str, _UnderWay] = {}

    def started(self, key: str, *, commit: str, strategy: str, phase: str | None) -> None:
        with self._lock:
            self._under_way[key] = _UnderWay(commit, strategy, phase)

    def ended(self, key: str) -> None:
        with self._lock:
            self._under_way.pop(key, None)

    def classify(self, message: str) -> LogEvent:
        """The event a log message is about (``log`` for a message of no known shape)."""
        event = classify(message)
        if event.env is None or event.service is None:
            return event
        with self._lock:
            under_way = self._under_way.get(f"{event.env}/{event.service}")
        if under_way is None:
            return event
        if event.event == "service-result" and event.action not in _LEFT_ALONE:
            event = replace(event, event="rollout-finished")
        elif event.event == "service-line":
            event = replace(event, event="rollout-progress")
        return replace(
            event,
            commit=event.commit or under_way.commit,
            strategy=event.strategy or under_way.strategy,
            phase=event.phase or under_way.phase,
        )


def classify(message: str) -> LogEvent:
    """The event a log message is about, from its shape alone (no context)."""
    summary = _SUMMARY.match(message)
    if summary:
        action = summary["action"]
        result = summary["result"]
        if action in _LEFT_ALONE:
            name = _LEFT_ALONE[action]
        elif result == "OutOfSync":
            name = "drift"
        else:
            name = "service-result"
        return of_service(
            name,
            summary["key"],
            result=result,
            action=action,
            duration_seconds=float(summary["seconds"]),
            phase=_phase(message),
        )
    over = _PASS_OVER.match(message)
    if over:
        finished = _FINISHED_IN.search(message)
        seconds = float(finished["seconds"]) if finished else None
        return LogEvent(
            "pass-finished", commit=over["commit"], duration_seconds=seconds, result=None
        )
    for prefix, name in _PROCESS_EVENTS:
        if message.startswith(prefix):
            return LogEvent(name)
    line = _SERVICE_LINE.match(message)
    if line:
        text = line["text"]
        name = next((n for p, n in _SERVICE_EVENTS if text.startswith(p)), "service-line")
        return of_service(name, line["key"], phase=_phase(text))
    return LogEvent("log")


def _phase(text: str) -> str | None:
    found = _PHASE.search(text)
    return found["phase"] if found else None
