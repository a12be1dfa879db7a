"""Why a deployment failed, as ECS saw it: stopped tasks, unhealthy targets, service events.

A rollback's reason such as "the circuit breaker triggered" says what ECS did, not why; the
cause is in the stopped tasks (``stopCode``, ``stoppedReason``, each container's exit code and
reason), in the target groups' health (``Target.FailedHealthChecks``) and in the service's
events. ``controller.aws.diagnostics`` reads those; this module turns the answers into a small
value and the value into one sentence for a marker's ``reason`` or a status ``message``.

Purely computational.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# a sentence that must fit in one status line: each ECS reason is cut to this many characters
REASON_LIMIT = 300


@dataclass(frozen=True)
class StoppedContainer:
    name: str
    exit_code: int | None = None  # None: the container never ran (an image that was not pulled)
    reason: str | None = None


@dataclass(frozen=True)
class StoppedTask:
    arn: str
    stopped_reason: str
    stop_code: str | None = None
    containers: tuple[StoppedContainer, ...] = ()
    stopped_at: str = ""  # RFC 3339, for ordering

    def what(self) -> str:
        """``stoppedReason (stopCode; container web exit code 1)``: the task's own account."""
        notes = [self.stop_code] if self.stop_code else []
        notes.append(_containers(self))
        inside = "; ".join(note for note in notes if note)
        reason = _cut(self.stopped_reason) or "stopped"
        return f"{reason} ({inside})" if inside else reason


@dataclass(frozen=True)
class UnhealthyTarget:
    target_group: str  # the target group's ARN
    target: str  # instance id or IP, with the port
    reason: str  # ELB's reason code, e.g. Target.FailedHealthChecks
    description: str = ""

    def what(self) -> str:
        return f"{self.reason} ({self.description})" if self.description else self.reason


@dataclass(frozen=True)
class ServiceEvent:
    at: str  # RFC 3339
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"at": self.at, "message": self.message}


@dataclass(frozen=True)
class FailureCause:
    """What ECS recorded about a failing deployment; empty when it recorded nothing."""

    tasks: tuple[StoppedTask, ...] = ()
    targets: tuple[UnhealthyTarget, ...] = ()
    events: tuple[ServiceEvent, ...] = ()  # newest first

    def sentence(self) -> str | None:
        """One sentence naming the cause, or None when ECS recorded none.

        ``tasks stopped: Essential container in task exited (EssentialContainerExited;
        container web exit code 1)``; tasks that stopped alike are named once, followed by
        ``(xN)`` when there were several.
        """
        parts: list[str] = []
        accounts = _counted(task.what() for task in self.tasks)
        if accounts:
            parts.append("tasks stopped: " + "; ".join(accounts))
        health = _counted(target.what() for target in self.targets)
        if health:
            parts.append("targets unhealthy: " + "; ".join(health))
        return ", ".join(parts) or None

    def explain(self, reason: str) -> str:
        """``reason`` followed by the cause, when there is one: a marker's ``reason``."""
        cause = self.sentence()
        if not cause or cause in reason:
            return reason
        return f"{reason.rstrip('. ')}: {cause}" if reason else cause

    def event_details(self) -> list[dict[str, str]]:
        """The events as a status file's ``details.events`` holds them."""
        return [event.to_dict() for event in self.events]


def stopped_task(answer: Mapping[str, Any]) -> StoppedTask:
    """A DescribeTasks task, reduced to why it stopped."""
    containers = tuple(
        StoppedContainer(
            name=str(c.get("name", "")),
            exit_code=c["exitCode"] if isinstance(c.get("exitCode"), int) else None,
            reason=str(c["reason"]) if c.get("reason") else None,
        )
        for c in answer.get("containers") or ()
    )
    return StoppedTask(
        arn=str(answer.get("taskArn", "")),
        stopped_reason=str(answer.get("stoppedReason") or ""),
        stop_code=str(answer["stopCode"]) if answer.get("stopCode") else None,
        containers=containers,
        stopped_at=_time(answer.get("stoppedAt")),
    )


def unhealthy_targets(
    target_group: str, descriptions: Iterable[Mapping[str, Any]]
) -> list[UnhealthyTarget]:
    """The targets of a DescribeTargetHealth answer that are unhealthy, with ELB's reason."""
    found: list[UnhealthyTarget] = []
    for description in descriptions:
        health = description.get("TargetHealth") or {}
        if health.get("State") != "unhealthy":
            continue
        target = description.get("Target") or {}
        where = str(target.get("Id", ""))
        if target.get("Port"):
            where += f":{target['Port']}"
        found.append(
            UnhealthyTarget(
                target_group=target_group,
                target=where,
                reason=str(health.get("Reason") or "unhealthy"),
                description=str(health.get("Description") or ""),
            )
        )
    return found


def service_events(answers: Sequence[Mapping[str, Any]], *, limit: int) -> list[ServiceEvent]:
    """The newest ``limit`` events of a DescribeServices answer (ECS lists them newest first)."""
    return [
        ServiceEvent(at=_time(event.get("createdAt")), message=str(event.get("message", "")))
        for event in list(answers)[:limit]
    ]


# ECS's scheduler stopping a task to scale in, drain a deployment or roll back: the task did
# nothing wrong, so it tells nothing of why a deployment failed
SCALED_IN = "Scaling activity initiated by"


def newest_stopped(tasks: Iterable[StoppedTask], *, limit: int) -> list[StoppedTask]:
    """The newest tasks that stopped for a reason of their own (not scaled in), newest first."""
    telling = (task for task in tasks if not task.stopped_reason.startswith(SCALED_IN))
    return sorted(telling, key=lambda task: task.stopped_at, reverse=True)[:limit]


def _containers(task: StoppedTask) -> str:
    notes = []
    for container in task.containers:
        reason = container.reason if container.reason != task.stopped_reason else None
        if container.exit_code not in (None, 0):
            note = f"container {container.name} exit code {container.exit_code}"
            notes.append(f"{note}: {_cut(reason)}" if reason else note)
        elif reason:
            notes.append(f"container {container.name}: {_cut(reason)}")
    return ", ".join(notes)


def _counted(accounts: Iterable[str]) -> list[str]:
    """Each distinct account once, in first-seen order, `` (xN)`` when several said it."""
    counts: dict[str, int] = {}
    for account in accounts:
        counts[account] = counts.get(account, 0) + 1
    return [f"{text} (x{n})" if n > 1 else text for text, n in counts.items()]


def _cut(text: str | None) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= REASON_LIMIT else flat[: REASON_LIMIT - 3] + "..."


def _time(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value or "")
