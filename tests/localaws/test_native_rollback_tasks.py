"""What the tasks of a native (BLUE_GREEN) deployment say once ECS rolls it back in local-aws.

The green tasks were healthy and stopped by ECS's scheduler undoing the deployment: their
stoppedReason is the scheduler's own, as for any task it scales in, so nothing reading stopped
tasks for a failure's cause takes them for one.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from controller.core.failure_cause import SCALED_IN
from controller.localaws import LocalAws
from tests.localaws.support import Network, wait_for
from tests.localaws.test_blue_green import Traffic, _baking, _create, _deploy_v2, _newest
from tests.localaws.test_blue_green import traffic as traffic


def _stopped(ecs: Any, cluster: str) -> list[dict[str, Any]]:
    arns = ecs.list_tasks(cluster=cluster, serviceName="web", desiredStatus="STOPPED")["taskArns"]
    return list(ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"]) if arns else []


def describe_revision(ecs: Any, deployment: dict[str, Any]) -> str:
    """The task definition of ``deployment``'s target revision."""
    arn = deployment["targetServiceRevision"]["arn"]
    [revision] = ecs.describe_service_revisions(serviceRevisionArns=[arn])["serviceRevisions"]
    return str(revision["taskDefinition"])


def test_green_tasks_stopped_by_a_rollback_carry_the_schedulers_reason(
    ecs: Any, cluster: str, network: Network, traffic: Traffic, local_aws: LocalAws
) -> None:
    local_aws.options = dataclasses.replace(local_aws.options, minute_seconds=1.0)
    _create(ecs, cluster, network, traffic, bakeTimeInMinutes=30)
    _deploy_v2(ecs, cluster)
    baking = _baking(ecs, cluster)
    green_revision = describe_revision(ecs, baking)

    ecs.stop_service_deployment(
        serviceDeploymentArn=baking["serviceDeploymentArn"], stopType="ROLLBACK"
    )

    wait_for(
        lambda: _newest(ecs, cluster),
        lambda d: d["status"] == "ROLLBACK_SUCCESSFUL",
        what="ROLLBACK_SUCCESSFUL",
    )
    green = [t for t in _stopped(ecs, cluster) if t["taskDefinitionArn"] == green_revision]
    assert len(green) == 2, green
    for task in green:
        assert task["stoppedReason"].startswith(SCALED_IN), task["stoppedReason"]
        assert task["stopCode"] == "ServiceSchedulerInitiated"
