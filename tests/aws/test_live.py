"""Live-state lookup against local-aws (moto's server) on loopback: results and API call counts."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.config import Config

from controller.aws.clients import API_CALLS, aws_errors, clients_for, forget_clients
from controller.aws.live import TaskDefinitionCache, fetch_live
from controller.core.digest import task_definition_digest
from controller.core.model import DeploySpec, DesiredService, Environment, Strategy
from controller.core.plan import Action, plan_service
from controller.errors import AwsError
from controller.localaws import LocalAws

REGION = "us-east-1"
ENV = Environment(name="staging", cluster="staging", region=REGION)


@dataclass(frozen=True)
class Network:
    subnets: tuple[str, str]
    security_group: str


@pytest.fixture
def aws(local_aws: LocalAws) -> Iterator[Network]:
    """An empty local AWS with a VPC, the AWS environment pointing at it, and zeroed call counts."""
    forget_clients()
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24")["Subnet"]["SubnetId"]
        for i in (1, 2)
    ]
    group = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"]
    API_CALLS.reset()
    yield Network(subnets=(subnets[0], subnets[1]), security_group=group)
    forget_clients()


def task_definition(family: str, image: str = "nginx:1.27") -> dict[str, Any]:
    return {
        "family": family,
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [
            {
                "name": "web",
                "image": image,
                "portMappings": [{"containerPort": 80}],
                "environment": [{"name": "LOG_LEVEL", "value": "info"}],
            }
        ],
    }


def service_request(name: str, family: str, net: Network) -> dict[str, Any]:
    return {
        "cluster": "staging",
        "serviceName": name,
        "taskDefinition": family,
        "desiredCount": 1,
        "launchType": "FARGATE",
        "networkConfiguration": {
            "awsvpcConfiguration": {
                # Given in the reverse order of creation: AWS may return them in any order.
                "subnets": [net.subnets[1], net.subnets[0]],
                "securityGroups": [net.security_group],
            }
        },
        "tags": [{"key": "team", "value": "web"}, {"key": "app", "value": name}],
    }


def desired(
    name: str,
    net: Network,
    *,
    family: str | None = None,
    strategy: Strategy = Strategy.ROLLING,
    **extra: Any,
) -> DesiredService:
    family = family or f"staging-{name}"
    return DesiredService(
        env=ENV,
        name=name,
        deploy=DeploySpec(strategy=strategy),
        task_definition=task_definition(family),
        service=None if strategy is Strategy.RUN_TASK else service_request(name, family, net),
        **extra,
    )


def create(ecs: Any, service: DesiredService) -> None:
    """What a deploy would do: register the revision as rendered, create the service."""
    ecs.register_task_definition(**service.task_definition)
    assert service.service is not None
    ecs.create_service(**service.service)


def calls(operation: str) -> int:
    return API_CALLS.by_operation().get(operation, 0)


def test_many_services_cost_one_describe_per_ten_and_one_per_task_definition(aws: Network) -> None:
    ecs = boto3.client("ecs", region_name=REGION)
    ecs.create_cluster(clusterName="staging")
    # 23 services sharing 3 task definition families.
    services = [desired(f"svc{i:02d}", aws, family=f"family-{i % 3}") for i in range(23)]
    for family in ("family-0", "family-1", "family-2"):
        ecs.register_task_definition(**task_definition(family))
    for service in services:
        assert service.service is not None
        ecs.create_service(**service.service)
    API_CALLS.reset()
    cache = TaskDefinitionCache()

    live = fetch_live(services, cache=cache)

    assert sorted(live) == sorted(s.key for s in services)
    assert all(
        item.service is not None and item.task_definition is not None for item in live.values()
    )
    assert live["staging/svc04"].task_definition["family"] == "family-1"  # type: ignore[index]
    assert calls("DescribeServices") == 3  # ceil(23 / 10)
    assert calls("DescribeTaskDefinition") == 3  # one per distinct ARN
    assert calls("DescribeScalableTargets") == 1
    assert calls("DescribeScalingPolicies") == 0  # nobody has or wants autoscaling

    fetch_live(services, cache=cache)
    assert calls("DescribeServices") == 6
    assert calls("DescribeTaskDefinition") == 3  # revisions are cached by ARN


def test_what_moto_returns_for_a_service_created_from_its_request_plans_in_sync(
    aws: Network,
) -> None:
    ecs = boto3.client("ecs", region_name=REGION)
    ecs.create_cluster(clusterName="staging")
    web = desired("web", aws)
    create(ecs, web)

    live = fetch_live([web], cache=TaskDefinitionCache())["staging/web"]

    assert live.service is not None and live.service["serviceName"] == "web"
    assert {t["key"] for t in live.service["tags"]} == {"team", "app"}  # include=TAGS
    assert plan_service(web, live).action is Action.IN_SYNC

    changed = desired("web", aws)
    changed.task_definition["containerDefinitions"][0]["image"] = "nginx:1.28"
    assert changed.service is not None
    changed.service["desiredCount"] = 3
    plan = plan_service(changed, live)
    assert plan.action is Action.UPDATE
    assert [str(c) for c in plan.changes] == [
        "containerDefinitions[web].image: nginx:1.27 -> nginx:1.28",
        "desiredCount: 1 -> 3",
    ]


def test_absent_deleted_and_cluster_less_services_are_absent(aws: Network) -> None:
    ecs = boto3.client("ecs", region_name=REGION)
    ecs.create_cluster(clusterName="staging")
    gone = desired("gone", aws)
    create(ecs, gone)
    ecs.delete_service(cluster="staging", service="gone", force=True)
    # ECS drains a deleted service before it turns INACTIVE (moto at once, local-aws in a moment)
    deadline = time.monotonic() + 30
    while (
        ecs.describe_services(cluster="staging", services=["gone"])["services"][0]["status"]
        != "INACTIVE"
    ):
        assert time.monotonic() < deadline, "the deleted service never turned INACTIVE"
        time.sleep(0.05)
    never = desired("never", aws)
    elsewhere = DesiredService(
        env=Environment(name="prod", cluster="no-such-cluster", region=REGION),
        name="web",
        deploy=DeploySpec(strategy=Strategy.ROLLING),
        task_definition=task_definition("prod-web"),
        service={**service_request("web", "prod-web", aws), "cluster": "no-such-cluster"},
    )

    live = fetch_live([gone, never, elsewhere], cache=TaskDefinitionCache())

    assert live["staging/gone"].service is None
    assert live["staging/never"].service is None
    assert live["prod/web"].service is None
    assert plan_service(never, live["staging/never"]).action is Action.CREATE


def test_run_task_jobs_compare_with_the_newest_revision_of_their_family(aws: Network) -> None:
    ecs = boto3.client("ecs", region_name=REGION)
    job = desired("migrate", aws, strategy=Strategy.RUN_TASK)
    cache = TaskDefinitionCache()

    assert fetch_live([job], cache=cache)["staging/migrate"].task_definition is None
    assert plan_service(job, fetch_live([job], cache=cache)["staging/migrate"]).action is Action.RUN

    ecs.register_task_definition(**task_definition("staging-migrate", image="nginx:1.26"))
    ecs.register_task_definition(**job.task_definition)
    live = fetch_live([job], cache=cache)["staging/migrate"]
    assert live.task_definition is not None and live.task_definition["revision"] == 2
    assert plan_service(job, live).action is Action.IN_SYNC
    assert calls("DescribeServices") == 0  # a job has no service to describe


def test_autoscaling_is_read_for_services_that_have_it(aws: Network) -> None:
    ecs = boto3.client("ecs", region_name=REGION)
    scaling = boto3.client("application-autoscaling", region_name=REGION)
    ecs.create_cluster(clusterName="staging")
    target = {
        "ServiceNamespace": "ecs",
        "ResourceId": "service/staging/web",
        "ScalableDimension": "ecs:service:DesiredCount",
        "MinCapacity": 1,
        "MaxCapacity": 4,
    }
    policy = {
        "PolicyName": "cpu70",
        "ServiceNamespace": "ecs",
        "ResourceId": "service/staging/web",
        "ScalableDimension": "ecs:service:DesiredCount",
        "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": {
            "TargetValue": 70.0,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "ECSServiceAverageCPUUtilization"
            },
        },
    }
    web = desired("web", aws, scalable_target=target, scaling_policies=(policy,))
    plain = desired("api", aws)
    create(ecs, web)
    create(ecs, plain)
    scaling.register_scalable_target(**target)
    scaling.put_scaling_policy(**policy)
    API_CALLS.reset()

    live = fetch_live([web, plain], cache=TaskDefinitionCache())

    assert live["staging/web"].scalable_target is not None
    assert live["staging/web"].scalable_target["MaxCapacity"] == 4
    assert [p["PolicyName"] for p in live["staging/web"].scaling_policies] == ["cpu70"]
    assert live["staging/api"].scalable_target is None
    assert calls("DescribeScalableTargets") == 1
    assert calls("DescribeScalingPolicies") == 1  # only for the service with autoscaling
    assert plan_service(web, live["staging/web"]).action is Action.IN_SYNC

    bigger = desired(
        "web", aws, scalable_target={**target, "MaxCapacity": 8}, scaling_policies=(policy,)
    )
    plan = plan_service(bigger, live["staging/web"])
    assert [str(c) for c in plan.autoscaling_changes] == ["scalableTarget.MaxCapacity: 4 -> 8"]


def test_clients_are_built_once_per_region_and_role(aws: Network) -> None:
    first = clients_for(ENV)
    assert clients_for(Environment(name="other", cluster="other", region=REGION)) is first
    assert clients_for(Environment(name="eu", cluster="eu", region="eu-west-1")) is not first
    assert first.region == REGION


def test_client_errors_become_aws_errors_with_code_and_are_counted(aws: Network) -> None:
    ecs = clients_for(ENV).ecs
    with pytest.raises(AwsError) as raised, aws_errors("describe task definition nope"):
        ecs.describe_task_definition(taskDefinition="nope")
    assert str(raised.value).startswith("describe task definition nope: ClientException")
    assert raised.value.code == "ClientException"
    assert raised.value.retryable is False
    assert raised.value.__cause__ is not None
    assert API_CALLS.counts()[("DescribeTaskDefinition", "ClientException")] == 1


def test_connection_errors_are_retryable(aws: Network) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    ecs = boto3.client(
        "ecs",
        region_name=REGION,
        endpoint_url=f"http://127.0.0.1:{closed_port}",
        config=Config(retries={"max_attempts": 1}, connect_timeout=2),
    )
    with pytest.raises(AwsError) as raised, aws_errors("list clusters"):
        ecs.list_clusters()
    assert raised.value.retryable is True
    assert str(raised.value).startswith("list clusters: ")


def test_an_environment_role_is_assumed_once_and_used(aws: Network) -> None:
    env = Environment(
        name="prod",
        cluster="prod",
        region=REGION,
        role_arn="arn:aws:iam::123456789012:role/ecs-gitops-deployer",
    )
    clients = clients_for(env)
    assert clients_for(env) is clients
    clients.ecs.create_cluster(clusterName="prod")
    assert clients.ecs.list_clusters()["clusterArns"][0].endswith(":cluster/prod")
    assert calls("AssumeRole") == 1


def test_a_recorded_digest_spares_the_task_definition_describe(aws: Network) -> None:
    ecs = boto3.client("ecs", region_name=REGION)
    ecs.create_cluster(clusterName="staging")
    services = [desired(f"svc{i:02d}", aws, family="shared") for i in range(12)]
    for service in services:
        create(ecs, service)
    arns = {
        s.key: ecs.describe_services(cluster="staging", services=[s.service_name])["services"][0][
            "taskDefinition"
        ]
        for s in services
    }
    # one revision each, all of the same content
    digest = task_definition_digest(services[0].task_definition)
    # recorded for every service but the last; the one before records another content's digest
    known = {arns[s.key]: digest for s in services[:-2]}
    known[arns[services[-2].key]] = "sha256:" + "0" * 64
    API_CALLS.reset()

    live = fetch_live(services, cache=TaskDefinitionCache(), known_digests=known)

    assert calls("DescribeServices") == 2  # ceil(12 / 10)
    assert calls("DescribeTaskDefinition") == 2  # only the two not proven by a recorded digest
    proven = live[services[0].key]
    assert proven.task_definition is None and proven.task_definition_digest == digest
    assert plan_service(services[0], proven).action is Action.IN_SYNC
    for unproven in services[-2:]:
        assert live[unproven.key].task_definition is not None
        assert live[unproven.key].task_definition_digest is None
        assert plan_service(unproven, live[unproven.key]).action is Action.IN_SYNC


def test_a_revision_shared_by_many_services_is_described_once_even_concurrently(
    aws: Network,
) -> None:
    ecs = boto3.client("ecs", region_name=REGION)
    ecs.create_cluster(clusterName="staging")
    ecs.register_task_definition(**task_definition("shared"))
    services = [desired(f"svc{i:02d}", aws, family="shared") for i in range(30)]
    for service in services:
        assert service.service is not None
        ecs.create_service(**service.service)
    API_CALLS.reset()

    live = fetch_live(services, cache=TaskDefinitionCache(), concurrency=8)

    assert calls("DescribeServices") == 3
    assert calls("DescribeTaskDefinition") == 1
    assert all(item.task_definition is not None for item in live.values())
