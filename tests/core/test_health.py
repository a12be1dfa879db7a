"""Deployment health judged from DescribeServices observations."""

from __future__ import annotations

from typing import Any

import pytest

from controller.core.health import HealthStatus, deployment_health, settled

OURS = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2"
OLD = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1"


def deployment(
    id: str,
    td: str,
    status: str = "PRIMARY",
    state: str | None = "IN_PROGRESS",
    running: int = 0,
    desired: int = 2,
    **kw: Any,
) -> dict[str, Any]:
    d = {
        "id": id,
        "taskDefinition": td,
        "status": status,
        "runningCount": running,
        "desiredCount": desired,
        "pendingCount": 0,
        "failedTasks": 0,
        **kw,
    }
    if state is not None:
        d["rolloutState"] = state
    return d


def service(*deployments: dict[str, Any], status: str = "ACTIVE") -> dict[str, Any]:
    return {
        "status": status,
        "deployments": list(deployments),
        "taskDefinition": deployments[0]["taskDefinition"] if deployments else None,
    }


@pytest.mark.parametrize(
    ("observed", "expected", "ecs_rolled_back"),
    [
        (
            service(deployment("d2", OURS, state="COMPLETED", running=2)),
            HealthStatus.HEALTHY,
            False,
        ),
        (
            service(
                deployment("d2", OURS), deployment("d1", OLD, status="ACTIVE", state="COMPLETED")
            ),
            HealthStatus.PROGRESSING,
            False,
        ),
        (
            service(
                deployment("d2", OURS, state="FAILED", rolloutStateReason="tasks failed to start")
            ),
            HealthStatus.DEGRADED,
            False,
        ),
        # a stable service on another task definition: the circuit breaker rolled us back
        (service(deployment("d3", OLD, state="COMPLETED", running=2)), HealthStatus.DEGRADED, True),
        (
            service(deployment("d3", OLD), deployment("d2", OURS, status="ACTIVE", state="FAILED")),
            HealthStatus.DEGRADED,
            True,
        ),
        (None, HealthStatus.MISSING, False),
        (service(deployment("d2", OURS), status="INACTIVE"), HealthStatus.MISSING, False),
        # without rolloutState: one deployment, all running
        (service(deployment("d2", OURS, state=None, running=2)), HealthStatus.HEALTHY, False),
        (service(deployment("d2", OURS, state=None, running=1)), HealthStatus.PROGRESSING, False),
    ],
)
def test_deployment_health(observed: Any, expected: HealthStatus, ecs_rolled_back: bool) -> None:
    health = deployment_health(observed, deployment_id="d2", task_definition_arn=OURS)
    assert health.status == expected
    assert health.ecs_rolled_back == ecs_rolled_back
    assert health.message


def test_failed_message_names_the_reason() -> None:
    observed = service(deployment("d2", OURS, state="FAILED", rolloutStateReason="circuit breaker"))
    assert (
        "circuit breaker"
        in deployment_health(observed, deployment_id="d2", task_definition_arn=OURS).message
    )


@pytest.mark.parametrize(
    ("observed", "expected"),
    [
        (None, True),
        (service(deployment("d1", OLD, state="COMPLETED", running=2)), True),
        (service(deployment("d1", OLD, state="IN_PROGRESS", running=1)), False),
        (service(deployment("d3", OLD), deployment("d2", OURS, status="ACTIVE")), False),
        (service(deployment("d1", OLD, state="FAILED")), False),
    ],
)
def test_settled(observed: Any, expected: bool) -> None:
    assert settled(observed) is expected
