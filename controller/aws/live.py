"""Read the live state of many services from AWS, with as few API calls as possible.

DescribeServices in batches of 10 per cluster, one paginated DescribeScalableTargets per
account and region, DescribeScalingPolicies only for services that have, or want, a scalable
target, and DescribeTaskDefinition only for a revision whose content is not already known:
once per process by ARN, and never when the caller already knows the running revision's
digest equals the desired one. Describes run concurrently, a few at a time per account and
region. A failed read is confined to the environments it concerns
(``fetch_live_by_environment``). This module does I/O (AWS reads).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from controller.aws.clients import AwsClients, aws_errors, clients_for
from controller.aws.ecs import EcsApi
from controller.aws.elb import ElbApi, generation, routes, serving, without_bg_tag
from controller.aws.task_definitions import (
    TASK_DEFINITIONS,
    TaskDefinitionAnswer,
    TaskDefinitionCache,
)
from controller.core.model import DesiredService, Environment, JsonDict
from controller.core.plan import LiveService
from controller.core.strategy_traits import Runs
from controller.errors import AwsError, EcsGitopsError
from controller.strategies.descriptions import describe

# DescribeServices accepts at most 10 services per call.
DESCRIBE_SERVICES_BATCH = 10
# Above this many services, one namespace-wide DescribeScalingPolicies is cheaper than one each.
POLICIES_PER_SERVICE_LIMIT = 3
ECS_NAMESPACE = "ecs"
# Describes in flight at once per account and region: enough to hide the round trips, few
# enough to stay well inside ECS's request rate, which every other tool of the account shares.
DESCRIBE_CONCURRENCY = 4


ClientsFor = Callable[[Environment], AwsClients]


def fetch_live(
    services: Sequence[DesiredService],
    *,
    clients: ClientsFor = clients_for,
    cache: TaskDefinitionCache = TASK_DEFINITIONS,
    known_digests: Mapping[str, str] | None = None,
    concurrency: int = DESCRIBE_CONCURRENCY,
) -> dict[str, LiveService]:
    """What AWS has for each desired service, by service key (ENV/SERVICE).

    A service that does not exist, or is INACTIVE, has ``LiveService.service`` None.
    ``known_digests`` maps task definition ARNs to the content digest the controller recorded
    for them: a service running such a revision whose digest is the desired one gets
    ``LiveService.task_definition_digest`` instead of a DescribeTaskDefinition.
    """
    if any(_runs(s) is Runs.AS_GENERATIONS for s in services):
        # a service deployed as generations is compared with the one behind its prod listener
        others = [s for s in services if _runs(s) is not Runs.AS_GENERATIONS]
        generations = [s for s in services if _runs(s) is Runs.AS_GENERATIONS]
        return {
            **fetch_live(
                others,
                clients=clients,
                cache=cache,
                known_digests=known_digests,
                concurrency=concurrency,
            ),
            **_fetch_blue_green(generations, clients=clients, cache=cache),
        }
    by_account: dict[tuple[str | None, str | None], list[DesiredService]] = {}
    for desired in services:
        by_account.setdefault((desired.env.region, desired.env.role_arn), []).append(desired)
    if not by_account:
        return {}
    known = known_digests or {}
    # accounts and regions have separate rate limits: each gets its own bounded pool
    with ThreadPoolExecutor(max_workers=len(by_account)) as accounts:
        parts = accounts.map(
            lambda group: _fetch_account(
                group, clients(group[0].env), cache, known=known, concurrency=concurrency
            ),
            list(by_account.values()),
        )
        result: dict[str, LiveService] = {}
        for part in parts:
            result.update(part)
    return result


@dataclass(frozen=True)
class LiveRead:
    """What ``fetch_live_by_environment`` could read, and why the rest could not be read."""

    services: dict[str, LiveService]
    # service key -> the error that kept its environment's live state from being read
    unreadable: dict[str, str] = field(default_factory=dict)


def fetch_live_by_environment(
    services: Sequence[DesiredService],
    *,
    clients: ClientsFor = clients_for,
    cache: TaskDefinitionCache = TASK_DEFINITIONS,
    known_digests: Mapping[str, str] | None = None,
) -> LiveRead:
    """``fetch_live``, with a failure confined to the environments it concerns.

    Everything is read at once first, batched across environments (the fewest calls); only
    when that fails is each environment read on its own, so that one unreachable cluster,
    region or role leaves the other environments' live state known.
    """
    try:
        return LiveRead(
            fetch_live(services, clients=clients, cache=cache, known_digests=known_digests)
        )
    except EcsGitopsError:
        pass
    by_env: dict[str, list[DesiredService]] = {}
    for desired in services:
        by_env.setdefault(desired.env.name, []).append(desired)
    read = LiveRead({})
    for group in by_env.values():
        try:
            read.services.update(
                fetch_live(group, clients=clients, cache=cache, known_digests=known_digests)
            )
        except EcsGitopsError as e:
            read.unreadable.update({desired.key: str(e) for desired in group})
    return read


def _fetch_account(
    services: list[DesiredService],
    clients: AwsClients,
    cache: TaskDefinitionCache,
    *,
    known: Mapping[str, str],
    concurrency: int,
) -> dict[str, LiveService]:
    jobs = [s for s in services if _runs(s) is Runs.ONCE]
    long_running = [s for s in services if _runs(s) is not Runs.ONCE]
    result: dict[str, LiveService] = {}
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        # first round: the services, the jobs' newest revisions and the scalable targets at once
        newest = {
            job.key: pool.submit(
                cache.latest, clients, str(job.task_definition.get("family", job.name))
            )
            for job in jobs
        }
        targets_asked = pool.submit(_scalable_targets, clients) if long_running else None
        live_services = _describe_services(clients, long_running, pool)
        for job in jobs:
            result[job.key] = _live(None, newest[job.key].result())
        targets = targets_asked.result() if targets_asked is not None else {}

        # second round: the revisions not proven unchanged, and scaling policies where needed
        existing = [s for s in long_running if s.key in live_services]
        with_autoscaling = [
            s
            for s in existing
            if _resource_id(s) in targets or s.scalable_target or s.scaling_policies
        ]
        policies_asked = pool.submit(_scaling_policies, clients, with_autoscaling)
        proven: dict[str, str] = {}
        # one describe per distinct ARN, however many services run that revision
        by_arn: dict[str, Future[TaskDefinitionAnswer | None]] = {}
        answers: dict[str, Future[TaskDefinitionAnswer | None]] = {}
        for desired in existing:
            arn = str(live_services[desired.key].get("taskDefinition") or "")
            if not arn:
                continue
            digest = known.get(arn)
            if digest is not None and digest == desired.digest:
                proven[desired.key] = digest
                continue
            if arn not in by_arn:
                by_arn[arn] = pool.submit(cache.get, clients, arn)
            answers[desired.key] = by_arn[arn]
        policies = policies_asked.result()
        for desired in long_running:
            item = live_services.get(desired.key)
            if item is None:
                result[desired.key] = LiveService()
                continue
            resource_id = _resource_id(desired)
            asked = answers.get(desired.key)
            result[desired.key] = _live(
                item,
                asked.result() if asked is not None else None,
                scalable_target=targets.get(resource_id),
                scaling_policies=tuple(policies.get(resource_id, ())),
                digest=proven.get(desired.key),
            )
    return result


def _live(
    service: JsonDict | None,
    answer: TaskDefinitionAnswer | None,
    *,
    scalable_target: JsonDict | None = None,
    scaling_policies: tuple[JsonDict, ...] = (),
    digest: str | None = None,
) -> LiveService:
    return LiveService(
        service=service,
        task_definition=None if answer is None else answer[0],
        task_definition_tags=() if answer is None else answer[1],
        scalable_target=scalable_target,
        scaling_policies=scaling_policies,
        task_definition_digest=digest,
    )


def _runs(desired: DesiredService) -> Runs:
    """Where the service's strategy keeps what runs: what its live state is read from."""
    return describe(desired.deploy.strategy).runs


def _resource_id(desired: DesiredService) -> str:
    # Application Auto Scaling names an ECS service "service/<cluster>/<service>".
    return f"service/{desired.cluster}/{desired.service_name}"


def _batches(items: Sequence[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _describe_services(
    clients: AwsClients, services: list[DesiredService], pool: ThreadPoolExecutor
) -> dict[str, JsonDict]:
    """Live DescribeServices items by service key; absent and INACTIVE services are left out."""
    by_cluster: dict[str, dict[str, str]] = {}
    for desired in services:
        by_cluster.setdefault(desired.cluster, {})[desired.service_name] = desired.key
    asked = [
        (keys, pool.submit(_describe_batch, clients, cluster, batch))
        for cluster, keys in by_cluster.items()
        for batch in _batches(sorted(keys), DESCRIBE_SERVICES_BATCH)
    ]
    result: dict[str, JsonDict] = {}
    for keys, answer in asked:
        for item in answer.result():
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


# -- blue-green: the live service is the generation behind the prod listener ----------------------


def _fetch_blue_green(
    services: Sequence[DesiredService], *, clients: ClientsFor, cache: TaskDefinitionCache
) -> dict[str, LiveService]:
    """For each blue-green service, the ``<name>__<N>`` generation its prod listener forwards to.

    That is what production runs, so it is what git is compared with. Its BG_VERSION tag is
    the controller's, not the user's, and is left out.
    """
    result: dict[str, LiveService] = {}
    for desired in services:
        aws = clients(desired.env)
        item = _behind_prod_listener(desired, aws)
        if item is None:
            result[desired.key] = LiveService()
            continue
        arn = item.get("taskDefinition")
        answer = cache.get(aws, str(arn)) if arn else None
        resource_id = f"service/{desired.cluster}/{item['serviceName']}"
        ecs = EcsApi(aws)
        result[desired.key] = _live(
            without_bg_tag(item),
            answer,
            scalable_target=ecs.scalable_target(resource_id),
            scaling_policies=tuple(ecs.scaling_policies(resource_id)),
        )
    return result


def _behind_prod_listener(desired: DesiredService, aws: AwsClients) -> JsonDict | None:
    prod, _ = routes(desired.deploy.block("blueGreen"))
    try:
        group = ElbApi(aws).target_group_of(prod)
        names = EcsApi(aws).list_service_names(cluster=desired.cluster)
    except AwsError as e:
        if e.retryable:
            raise
        # no such listener or cluster: nothing serves production yet (the rollout says why)
        return None
    names = [n for n in names if generation(n, desired.service_name) is not None]
    items = [
        item
        for batch in _batches(names, DESCRIBE_SERVICES_BATCH)
        for item in _describe_batch(aws, desired.cluster, batch)
    ]
    return serving(items, group, base=desired.service_name)
