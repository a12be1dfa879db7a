"""Read one live service whole, for ``import`` and ``promote``.

Read-only calls through ``EcsApi``: DescribeServices (with tags), DescribeTaskDefinition (with
tags), DescribeScalableTargets and DescribeScalingPolicies of the service's ResourceId, and
ListTasks/DescribeTasks of its running tasks; for a service deployed as generations, what
``controller.aws.live`` reads to find the one behind the prod listener. Does I/O (AWS reads).
"""

from __future__ import annotations

from controller.aws.clients import aws_errors
from controller.aws.ecs import EcsApi
from controller.aws.live import fetch_live
from controller.aws.task_definitions import TASK_DEFINITIONS
from controller.core.importer import LiveSources
from controller.core.model import DesiredService, JsonDict
from controller.core.strategy_traits import Runs
from controller.strategies.descriptions import describe


def resource_id(*, cluster: str, name: str) -> str:
    """Application Auto Scaling's name of an ECS service: ``service/<cluster>/<service>``."""
    return f"service/{cluster}/{name}"


def read_service(api: EcsApi, *, cluster: str, name: str) -> LiveSources | None:
    """Everything live of service ``name`` in ``cluster``, or None when it does not exist.

    ``LiveSources.task_definition`` is None when ECS does not know the revision the service
    names (deleted).
    """
    service = api.describe_service(cluster=cluster, name=name)
    if service is None:
        return None
    arn = str(service.get("taskDefinition") or "")
    answer = TASK_DEFINITIONS.get(api.clients, arn) if arn else None
    # the cluster as written in environment.yaml may be an ARN: name it as ECS does
    cluster_name = str(service.get("clusterArn") or cluster).rsplit("/", 1)[-1]
    scaled = resource_id(cluster=cluster_name, name=name)
    target = api.scalable_target(scaled)
    policies = api.scaling_policies(scaled) if target is not None else []
    return LiveSources(
        service=service,
        task_definition=None if answer is None else answer[0],
        task_definition_tags=() if answer is None else answer[1],
        scalable_target=target,
        scaling_policies=tuple(policies),
    )


def running_tasks(api: EcsApi, *, cluster: str, name: str) -> list[JsonDict]:
    """The tasks of service ``name`` ECS reports RUNNING (ListTasks, then DescribeTasks)."""
    arns: list[str] = []
    with aws_errors(f"list the running tasks of service {name} in cluster {cluster}"):
        pages = api.ecs.get_paginator("list_tasks").paginate(
            cluster=cluster, serviceName=name, desiredStatus="RUNNING"
        )
        for page in pages:
            arns.extend(str(arn) for arn in page.get("taskArns") or ())
    if not arns:
        return []
    tasks = api.describe_tasks(cluster=cluster, arns=arns)
    return [t for t in tasks if t.get("lastStatus") == "RUNNING"]


def live_service(
    api: EcsApi, desired: DesiredService, *, recorded_name: str | None = None
) -> JsonDict | None:
    """The DescribeServices item of what runs ``desired`` live, where its strategy keeps it.

    A service's own name, or for a strategy that deploys generations the one behind the prod
    listener (as ``plan`` reads it), else ``recorded_name`` (the generation the status file
    records) while it is still ACTIVE. None when nothing runs; a job never has a service.
    """
    runs = describe(desired.deploy.strategy).runs
    if runs is Runs.AS_SERVICE:
        return api.describe_service(cluster=desired.cluster, name=desired.service_name)
    if runs is not Runs.AS_GENERATIONS:
        return None
    behind = fetch_live([desired], clients=lambda _env: api.clients)[desired.key].service
    if behind is not None:
        return behind
    if recorded_name is None:
        return None
    return api.describe_service(cluster=desired.cluster, name=recorded_name)
