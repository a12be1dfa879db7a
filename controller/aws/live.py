"""Read the live state of many services from AWS, with as few API calls as possible.

DescribeServices in batches of 10 per cluster, each task definition once per process (by
ARN), one paginated DescribeScalableTargets per environment, and DescribeScalingPolicies
only for services that have, or want, a scalable target. This module does I/O (AWS reads).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from botocore.exceptions import ClientError

from controller.aws.clients import AwsClients, aws_errors, clients_for
from controller.core.model import DesiredService, Environment, JsonDict, Strategy
from controller.core.plan import LiveService
from controller.errors import AwsError

# DescribeServices accepts at most 10 services per call.
DESCRIBE_SERVICES_BATCH = 10
# Above this many services, one namespace-wide DescribeScalingPolicies is cheaper than one each.
POLICIES_PER_SERVICE_LIMIT = 3
ECS_NAMESPACE = "ecs"

TaskDefinitionAnswer = tuple[JsonDict, tuple[JsonDict, ...]]


class TaskDefinitionCache:
    """Task definitions by ARN: a revision never changes, so each is fetched once per process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_arn: dict[str, TaskDefinitionAnswer] = {}

    def get(self, clients: AwsClients, arn: str) -> TaskDefinitionAnswer | None:
        """The revision ``arn`` and its tags, or None if AWS no longer knows it."""
        with self._lock:
            cached = self._by_arn.get(arn)
        if cached is not None:
            return cached
        return self._describe(clients, arn)

    def latest(self, clients: AwsClients, family: str) -> TaskDefinitionAnswer | None:
        """The newest ACTIVE revision of ``family`` (always asked: it moves), or None."""
        return self._describe(clients, family)

    def _describe(self, clients: AwsClients, name: str) -> TaskDefinitionAnswer | None:
        try:
            with aws_errors(f"describe task definition {name}"):
                answer = _describe_task_definition(clients, name)
        except _MissingTaskDefinition:
            return None
        with self._lock:
            self._by_arn[str(answer[0].get("taskDefinitionArn", name))] = answer
        return answer


class _MissingTaskDefinition(Exception):
    pass


def _describe_task_definition(clients: AwsClients, name: str) -> TaskDefinitionAnswer:
    try:
        answer = clients.ecs.describe_task_definition(taskDefinition=name, include=["TAGS"])
    except ClientError as e:
        # ECS answers ClientException "Unable to describe task definition" for unknown names.
        if e.response.get("Error", {}).get("Code") == "ClientException":
            raise _MissingTaskDefinition(name) from e
        raise
    return dict(answer["taskDefinition"]), tuple(answer.get("tags") or ())


TASK_DEFINITIONS = TaskDefinitionCache()

ClientsFor = Callable[[Environment], AwsClients]


def fetch_live(
    services: Sequence[DesiredService],
    *,
    clients: ClientsFor = clients_for,
    cache: TaskDefinitionCache = TASK_DEFINITIONS,
) -> dict[str, LiveService]:
    """What AWS has for each desired service, by service key (ENV/SERVICE).

    A service that does not exist, or is INACTIVE, has ``LiveService.service`` None.
    """
    result: dict[str, LiveService] = {}
    by_account: dict[tuple[str | None, str | None], list[DesiredService]] = {}
    for desired in services:
        by_account.setdefault((desired.env.region, desired.env.role_arn), []).append(desired)
    for group in by_account.values():
        result.update(_fetch_account(group, clients(group[0].env), cache))
    return result


def _fetch_account(
    services: list[DesiredService], clients: AwsClients, cache: TaskDefinitionCache
) -> dict[str, LiveService]:
    jobs = [s for s in services if s.deploy.strategy is Strategy.RUN_TASK]
    long_running = [s for s in services if s.deploy.strategy is not Strategy.RUN_TASK]
    result: dict[str, LiveService] = {}
    for job in jobs:
        answer = cache.latest(clients, str(job.task_definition.get("family", job.name)))
        result[job.key] = _live(None, answer)
    live_services = _describe_services(clients, long_running)
    existing = [s for s in long_running if s.key in live_services]
    targets = _scalable_targets(clients) if existing else {}
    with_autoscaling = [
        s for s in existing if _resource_id(s) in targets or s.scalable_target or s.scaling_policies
    ]
    policies = _scaling_policies(clients, with_autoscaling)
    for desired in long_running:
        item = live_services.get(desired.key)
        if item is None:
            result[desired.key] = LiveService()
            continue
        arn = item.get("taskDefinition")
        answer = cache.get(clients, str(arn)) if arn else None
        resource_id = _resource_id(desired)
        result[desired.key] = _live(
            item,
            answer,
            scalable_target=targets.get(resource_id),
            scaling_policies=tuple(policies.get(resource_id, ())),
        )
    return result


def _live(
    service: JsonDict | None,
    answer: TaskDefinitionAnswer | None,
    *,
    scalable_target: JsonDict | None = None,
    scaling_policies: tuple[JsonDict, ...] = (),
) -> LiveService:
    return LiveService(
        service=service,
        task_definition=None if answer is None else answer[0],
        task_definition_tags=() if answer is None else answer[1],
        scalable_target=scalable_target,
        scaling_policies=scaling_policies,
    )


def _resource_id(desired: DesiredService) -> str:
    # Application Auto Scaling names an ECS service "service/<cluster>/<service>".
    return f"service/{desired.cluster}/{desired.service_name}"


def _batches(items: Sequence[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _describe_services(clients: AwsClients, services: list[DesiredService]) -> dict[str, JsonDict]:
    """Live DescribeServices items by service key; absent and INACTIVE services are left out."""
    by_cluster: dict[str, list[DesiredService]] = {}
    for desired in services:
        by_cluster.setdefault(desired.cluster, []).append(desired)
    result: dict[str, JsonDict] = {}
    for cluster, members in by_cluster.items():
        keys = {s.service_name: s.key for s in members}
        for batch in _batches(sorted(keys), DESCRIBE_SERVICES_BATCH):
            items = _describe_batch(clients, cluster, batch)
            for item in items:
                name = item.get("serviceName")
                if name in keys and item.get("status") != "INACTIVE":
                    result[keys[name]] = dict(item)
    return result


def _describe_batch(clients: AwsClients, cluster: str, names: list[str]) -> list[Any]:
    try:
        with aws_errors(f"describe services {', '.join(names)} in cluster {cluster}"):
            answer = clients.ecs.describe_services(
                cluster=cluster, services=names, include=["TAGS"]
            )
    except AwsError as e:
        # A cluster that does not exist yet holds no services: everything in it is to create.
        if e.code == "ClusterNotFoundException":
            return []
        raise
    return list(answer.get("services") or ())


def _scalable_targets(clients: AwsClients) -> dict[str, JsonDict]:
    """Every ECS scalable target of the account and region, by ResourceId."""
    result: dict[str, JsonDict] = {}
    with aws_errors("describe scalable targets"):
        pages = clients.autoscaling.get_paginator("describe_scalable_targets")
        for page in pages.paginate(ServiceNamespace=ECS_NAMESPACE):
            for target in page.get("ScalableTargets") or ():
                if target.get("ScalableDimension") == "ecs:service:DesiredCount":
                    result[str(target["ResourceId"])] = dict(target)
    return result


def _scaling_policies(
    clients: AwsClients, services: list[DesiredService]
) -> dict[str, list[JsonDict]]:
    """Scaling policies by ResourceId for ``services``, in as few calls as reasonable."""
    wanted = {_resource_id(s) for s in services}
    if not wanted:
        return {}
    result: dict[str, list[JsonDict]] = {}
    pages = clients.autoscaling.get_paginator("describe_scaling_policies")
    if len(wanted) <= POLICIES_PER_SERVICE_LIMIT:
        requests = [{"ResourceId": resource_id} for resource_id in sorted(wanted)]
    else:
        requests = [{}]
    with aws_errors("describe scaling policies"):
        for request in requests:
            for page in pages.paginate(ServiceNamespace=ECS_NAMESPACE, **request):
                for policy in page.get("ScalingPolicies") or ():
                    if policy.get("ResourceId") in wanted:
                        result.setdefault(str(policy["ResourceId"]), []).append(dict(policy))
    return result
