"""Health of an ECS service deployment, judged from one DescribeServices observation.

Health is data (status and message), never an exception. Purely computational.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from controller.core.model import JsonDict


class HealthStatus(StrEnum):
    HEALTHY = "Healthy"  # our deployment is PRIMARY and finished
    PROGRESSING = "Progressing"  # our deployment is still rolling out
    DEGRADED = "Degraded"  # our deployment failed, or ECS replaced it (circuit-breaker rollback)
    MISSING = "Missing"  # the service does not exist (any more)


@dataclass(frozen=True)
class Health:
    status: HealthStatus
    message: str
    # ECS already started a rollback deployment of its own (circuit breaker with rollback)
    ecs_rolled_back: bool = False


def _primary(service: JsonDict) -> JsonDict | None:
    for deployment in service.get("deployments") or ():
        if deployment.get("status") == "PRIMARY":
            return dict(deployment)
    return None


def _counts(deployment: JsonDict) -> str:
    return (
        f"{deployment.get('runningCount', 0)}/{deployment.get('desiredCount', 0)} running, "
        f"{deployment.get('pendingCount', 0)} pending, {deployment.get('failedTasks', 0)} failed"
    )


def deployment_health(
    service: JsonDict | None,
    *,
    deployment_id: str | None,
    task_definition_arn: str,
) -> Health:
    """Judge whether *our* deployment (id, task definition) reached steady state.

    A stable service on some other task definition is a failure, not a success: that is
    what an ECS circuit-breaker rollback looks like.
    """
    if service is None or service.get("status") in ("INACTIVE", "DRAINING"):
        return Health(HealthStatus.MISSING, "the service does not exist")
    primary = _primary(service)
    if primary is None:
        return Health(HealthStatus.PROGRESSING, "no PRIMARY deployment yet")
    ours = primary.get("taskDefinition") == task_definition_arn and (
        deployment_id is None or primary.get("id") == deployment_id
    )
    if not ours:
        ours_still_listed = any(
            d.get("id") == deployment_id for d in service.get("deployments") or ()
        )
        if primary.get("taskDefinition") != task_definition_arn or not ours_still_listed:
            return Health(
                HealthStatus.DEGRADED,
                f"ECS replaced deployment {deployment_id} with {primary.get('id')} on "
                f"{primary.get('taskDefinition')} (circuit-breaker rollback)",
                ecs_rolled_back=True,
            )
    state = primary.get("rolloutState")
    if state == "FAILED":
        reason = primary.get("rolloutStateReason") or "rollout failed"
        return Health(HealthStatus.DEGRADED, f"deployment {primary.get('id')} failed: {reason}")
    if state == "COMPLETED":
        return Health(HealthStatus.HEALTHY, f"deployment {primary.get('id')} completed")
    if state is None:
        # without rolloutState (older APIs, CODE_DEPLOY controllers): one deployment, all running
        deployments: list[Any] = list(service.get("deployments") or ())
        if len(deployments) == 1 and primary.get("runningCount") == primary.get("desiredCount"):
            return Health(HealthStatus.HEALTHY, f"deployment {primary.get('id')} is steady")
    return Health(HealthStatus.PROGRESSING, _counts(primary))


def settled(service: JsonDict | None) -> bool:
    """Whether a service has one deployment, fully running: used to wait after a rollback."""
    if service is None:
        return True
    primary = _primary(service)
    if primary is None:
        return False
    if primary.get("rolloutState") == "COMPLETED":
        return len(service.get("deployments") or ()) == 1
    if primary.get("rolloutState") == "FAILED":
        return False
    return len(service.get("deployments") or ()) == 1 and primary.get(
        "runningCount"
    ) == primary.get("desiredCount")
