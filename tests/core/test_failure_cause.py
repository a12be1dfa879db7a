"""The cause of a failed deployment, from ECS's answers to one sentence."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from controller.core.failure_cause import (
    FailureCause,
    ServiceEvent,
    newest_stopped,
    service_events,
    stopped_task,
    unhealthy_targets,
)

PULL = "CannotPullContainerError: pull image manifest has been retried 5 time(s): not found"


def _task(
    reason: str, code: str | None, containers: list[dict[str, Any]], at: int = 0
) -> dict[str, Any]:
    return {
        "taskArn": f"arn:aws:ecs:us-east-1:123456789012:task/staging/{at}",
        "stoppedReason": reason,
        **({"stopCode": code} if code else {}),
        "containers": containers,
        "stoppedAt": datetime(2026, 1, 1, 0, 0, at, tzinfo=UTC),
    }


@pytest.mark.parametrize(
    ("answers", "sentence"),
    [
        (
            [
                _task(
                    "Essential container in task exited",
                    "EssentialContainerExited",
                    [{"name": "web", "exitCode": 1}],
                )
            ],
            "tasks stopped: Essential container in task exited "
            "(EssentialContainerExited; container web exit code 1)",
        ),
        (
            [
                _task(
                    "Essential container in task exited",
                    "EssentialContainerExited",
                    [{"name": "web", "exitCode": 1}, {"name": "sidecar", "exitCode": 0}],
                    at=i,
                )
                for i in range(3)
            ],
            "tasks stopped: Essential container in task exited "
            "(EssentialContainerExited; container web exit code 1) (x3)",
        ),
        (
            [_task(PULL, "TaskFailedToStart", [{"name": "web", "reason": PULL}])],
            f"tasks stopped: {PULL} (TaskFailedToStart)",
        ),
        (
            [
                _task(
                    "Essential container in task exited",
                    "EssentialContainerExited",
                    [
                        {
                            "name": "web",
                            "exitCode": 137,
                            "reason": "OutOfMemoryError: Container killed",
                        }
                    ],
                )
            ],
            "tasks stopped: Essential container in task exited (EssentialContainerExited; "
            "container web exit code 137: OutOfMemoryError: Container killed)",
        ),
        (
            [
                _task(
                    "Essential container in task exited",
                    "EssentialContainerExited",
                    [{"name": "web", "exitCode": 1}],
                ),
                _task(PULL, "TaskFailedToStart", [{"name": "web", "reason": PULL}], at=1),
            ],
            "tasks stopped: Essential container in task exited (EssentialContainerExited; "
            f"container web exit code 1); {PULL} (TaskFailedToStart)",
        ),
        ([_task("", None, [])], "tasks stopped: stopped"),
        ([], None),
    ],
)
def test_stopped_tasks_make_one_sentence(answers: list[dict[str, Any]], sentence: str) -> None:
    cause = FailureCause(tasks=tuple(stopped_task(a) for a in answers))
    assert cause.sentence() == sentence


def test_a_long_or_multiline_reason_stays_one_short_line() -> None:
    task = stopped_task(_task("line one\nline two " + "x" * 1000, "TaskFailedToStart", []))
    sentence = FailureCause(tasks=(task,)).sentence() or ""
    assert "\n" not in sentence
    assert len(sentence) < 400 and "line one line two" in sentence and "..." in sentence


def test_unhealthy_targets_only_with_elbs_reason() -> None:
    targets = unhealthy_targets(
        "arn:tg/web",
        [
            {
                "Target": {"Id": "10.0.0.5", "Port": 8080},
                "TargetHealth": {
                    "State": "unhealthy",
                    "Reason": "Target.FailedHealthChecks",
                    "Description": "Health checks failed",
                },
            },
            {"Target": {"Id": "10.0.0.6", "Port": 8080}, "TargetHealth": {"State": "healthy"}},
            {"Target": {"Id": "10.0.0.7"}, "TargetHealth": {"State": "unhealthy"}},
        ],
    )
    assert [(t.target, t.reason) for t in targets] == [
        ("10.0.0.5:8080", "Target.FailedHealthChecks"),
        ("10.0.0.7", "unhealthy"),
    ]
    assert FailureCause(targets=tuple(targets)).sentence() == (
        "targets unhealthy: Target.FailedHealthChecks (Health checks failed); unhealthy"
    )


def test_tasks_and_targets_together() -> None:
    cause = FailureCause(
        tasks=(stopped_task(_task("Essential container in task exited", None, [])),),
        targets=tuple(
            unhealthy_targets(
                "tg",
                [{"Target": {"Id": "i"}, "TargetHealth": {"State": "unhealthy", "Reason": "R"}}],
            )
        ),
    )
    assert cause.sentence() == (
        "tasks stopped: Essential container in task exited, targets unhealthy: R"
    )


@pytest.mark.parametrize(
    ("reason", "explained"),
    [
        (
            "the deployment circuit breaker triggered (3 failed tasks)",
            "the deployment circuit breaker triggered (3 failed tasks): tasks stopped: boom",
        ),
        ("rolled back.", "rolled back: tasks stopped: boom"),
        ("", "tasks stopped: boom"),
        ("already says tasks stopped: boom", "already says tasks stopped: boom"),
    ],
)
def test_explain_appends_the_cause_to_a_reason(reason: str, explained: str) -> None:
    cause = FailureCause(tasks=(stopped_task(_task("boom", None, [])),))
    assert cause.explain(reason) == explained


def test_explain_without_a_cause_keeps_the_reason() -> None:
    assert FailureCause().explain("timed out after 600s") == "timed out after 600s"


def test_newest_stopped_first_and_at_most_the_limit() -> None:
    tasks = [stopped_task(_task("r", None, [], at=i)) for i in (3, 9, 1, 7)]
    assert [t.arn[-1] for t in newest_stopped(tasks, limit=2)] == ["9", "7"]


def test_tasks_the_scheduler_scaled_in_tell_no_cause() -> None:
    drained = _task(
        "Scaling activity initiated by (deployment ecs-svc/1)",
        "ServiceSchedulerInitiated",
        [],
        at=9,
    )
    unhealthy = _task(
        "Task failed ELB health checks in (target-group tg)", "ServiceSchedulerInitiated", [], at=5
    )
    kept = newest_stopped([stopped_task(drained), stopped_task(unhealthy)], limit=3)
    assert [t.stopped_reason for t in kept] == [
        "Task failed ELB health checks in (target-group tg)"
    ]


def test_events_newest_first_limited_with_times() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    events = service_events([{"createdAt": at, "message": f"m{i}"} for i in range(10)], limit=3)
    assert events == [ServiceEvent(at=at.isoformat(), message=f"m{i}") for i in range(3)]
    assert FailureCause(events=tuple(events)).event_details()[0] == {
        "at": "2026-01-01T00:00:00+00:00",
        "message": "m0",
    }
