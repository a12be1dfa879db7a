"""Read why a deployment failed from ECS and ELB: stopped tasks, target health, service events.

A thin adapter (does I/O, read-only calls): ListTasks (desiredStatus STOPPED) and DescribeTasks
on at most a few stopped tasks of the deployment, DescribeTargetHealth of the service's target
groups, and the newest events of DescribeServices. It returns a pure
:class:`controller.core.failure_cause.FailureCause`. Reading the cause is best effort: the
deployment has failed whatever this finds, so an AWS error here gives an empty cause, never a
second failure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controller.aws.clients import AwsClients, aws_errors
from controller.core.failure_cause import (
    FailureCause,
    StoppedTask,
    newest_stopped,
    service_events,
    stopped_task,
    unhealthy_targets,
)
from controller.errors import AwsError

MAX_TASKS = 3  # stopped tasks described: they almost always stopped for one reason
MAX_EVENTS = 5  # newest service events kept
# stopped tasks of the service looked at to find those of one task definition (one page of
# ListTasks, one DescribeTasks call)
SCAN_TASKS = 20


def diagnose(
    clients: AwsClients,
    *,
    cluster: str,
    service: str,
    deployment_id: str | None = None,
    task_definition: str | None = None,
    described: Mapping[str, Any] | None = None,
    max_tasks: int = MAX_TASKS,
    max_events: int = MAX_EVENTS,
) -> FailureCause:
    """Why ``service``'s deployment failed, as far as ECS and ELB recorded it.

    ``deployment_id`` (``ecs-svc/...``, the tasks' ``startedBy``) or else ``task_definition``
    (an ARN) picks the deployment's tasks; with neither, the service's newest stopped tasks.
    ``described`` is a DescribeServices answer for the service already at hand (its events and
    load balancers), saving a call.
    """
    try:
        answer = dict(described) if described is not None else _describe(clients, cluster, service)
    except AwsError:
        answer = {}
    tasks = _stopped_tasks(
        clients,
        cluster=cluster,
        service=service,
        deployment_id=deployment_id,
        task_definition=task_definition,
        limit=max_tasks,
    )
    targets = []
    for balancer in answer.get("loadBalancers") or ():
        group = balancer.get("targetGroupArn")
        if not group:
            continue
        try:
            with aws_errors(f"describe target health of {group}"):
                health = clients.elbv2.describe_target_health(TargetGroupArn=group)
        except AwsError:
            continue
        targets.extend(unhealthy_targets(group, health.get("TargetHealthDescriptions", [])))
    return FailureCause(
        tasks=tuple(tasks),
        targets=tuple(targets),
        events=tuple(service_events(answer.get("events") or [], limit=max_events)),
    )


def _describe(clients: AwsClients, cluster: str, service: str) -> dict[str, Any]:
    with aws_errors(f"describe service {service} in cluster {cluster}"):
        response = clients.ecs.describe_services(cluster=cluster, services=[service])
    found = response.get("services") or [{}]
    return dict(found[0])


def _stopped_tasks(
    clients: AwsClients,
    *,
    cluster: str,
    service: str,
    deployment_id: str | None,
    task_definition: str | None,
    limit: int,
) -> list[StoppedTask]:
    if deployment_id:
        # ECS: "When you specify startedBy as the filter, it must be the only filter"
        request: dict[str, Any] = {"startedBy": deployment_id}
    else:
        request = {"serviceName": service}
        if task_definition:
            request["family"] = task_definition.rsplit("/", 1)[-1].rsplit(":", 1)[0]
    try:
        with aws_errors(f"list stopped tasks of {service} in cluster {cluster}"):
            arns = clients.ecs.list_tasks(
                cluster=cluster, desiredStatus="STOPPED", maxResults=SCAN_TASKS, **request
            ).get("taskArns", [])
        if not arns:
            return []
        with aws_errors(f"describe stopped tasks of {service} in cluster {cluster}"):
            answers = clients.ecs.describe_tasks(cluster=cluster, tasks=list(arns)).get("tasks", [])
    except AwsError:
        return []
    if task_definition and not deployment_id:
        answers = [a for a in answers if a.get("taskDefinitionArn") == task_definition]
    return newest_stopped((stopped_task(a) for a in answers), limit=limit)
