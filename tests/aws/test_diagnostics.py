"""controller.aws.diagnostics reads why a deployment failed from local-aws, as from ECS."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import boto3
import pytest

from controller.aws.clients import API_CALLS, build_clients, forget_clients
from controller.aws.diagnostics import diagnose
from controller.localaws import LocalAws, SimulationOptions

REGION = "us-east-1"
T = TypeVar("T")


def _wait(observe: Callable[[], T], until: Callable[[T], bool], *, what: str) -> T:
    deadline = time.monotonic() + 60  # a liveness bound: these rollouts take about a second
    while True:
        seen = observe()
        if until(seen):
            return seen
        assert time.monotonic() < deadline, f"never saw {what}: {seen!r}"
        time.sleep(0.05)


@pytest.fixture
def ecs(local_aws: LocalAws) -> Iterator[Any]:
    forget_clients()
    local_aws.options = SimulationOptions(
        fail_images=("*:broken",), pull_fail_images=("*:missing",), task_start_seconds=0.2
    )
    client = boto3.client("ecs", region_name=REGION)
    client.create_cluster(clusterName="staging")
    yield client
    forget_clients()


def _network() -> dict[str, Any]:
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])
    group = ec2.describe_security_groups(
        Filters=[
            {"Name": "vpc-id", "Values": [vpc["VpcId"]]},
            {"Name": "group-name", "Values": ["default"]},
        ]
    )["SecurityGroups"][0]["GroupId"]
    return {
        "vpc": vpc["VpcId"],
        "awsvpc": {
            "awsvpcConfiguration": {
                "subnets": [subnets["Subnets"][0]["SubnetId"]],
                "securityGroups": [group],
            }
        },
    }


def _register(ecs: Any, image: str) -> str:
    arn: str = ecs.register_task_definition(
        family="web",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        containerDefinitions=[
            {"name": "web", "image": image, "portMappings": [{"containerPort": 8080}]}
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    return arn


def _failed_deployment(ecs: Any, image: str, *, target_group: str | None = None) -> str:
    """web steady on a good image, then updated to ``image`` until ECS rolled it back."""
    network = _network()
    balancers = (
        [{"targetGroupArn": target_group, "containerName": "web", "containerPort": 8080}]
        if target_group
        else []
    )
    ecs.create_service(
        cluster="staging",
        serviceName="web",
        taskDefinition=_register(ecs, "registry.example/web:1"),
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration=network["awsvpc"],
        loadBalancers=balancers,
        deploymentConfiguration={
            "deploymentCircuitBreaker": {"enable": True, "rollback": True},
            "maximumPercent": 200,
            "minimumHealthyPercent": 100,
        },
    )
    _wait(
        lambda: ecs.describe_services(cluster="staging", services=["web"])["services"][0],
        lambda s: s["deployments"][0]["rolloutState"] == "COMPLETED",
        what="web steady",
    )
    ecs.update_service(cluster="staging", service="web", taskDefinition=_register(ecs, image))
    service = ecs.describe_services(cluster="staging", services=["web"])["services"][0]
    deployment: str = service["deployments"][0]["id"]
    _wait(
        lambda: ecs.describe_services(cluster="staging", services=["web"])["services"][0],
        lambda s: (
            any(d["id"] == deployment and d["rolloutState"] == "FAILED" for d in s["deployments"])
            or all(d["id"] != deployment for d in s["deployments"])
        ),
        what="the deployment failed by the circuit breaker",
    )
    return deployment


def test_a_crashing_image_is_named_with_its_exit_code(ecs: Any) -> None:
    deployment = _failed_deployment(ecs, "registry.example/web:broken")
    API_CALLS.reset()

    cause = diagnose(
        build_clients(region=REGION, role_arn=None),
        cluster="staging",
        service="web",
        deployment_id=deployment,
    )

    assert cause.sentence() == (
        "tasks stopped: Essential container in task exited "
        "(EssentialContainerExited; container web exit code 1) (x3)"
    )
    assert len(cause.tasks) == 3  # at most a few are described
    assert any(
        e.message.endswith(f"deployment {deployment} deployment failed: tasks failed to start.")
        for e in cause.events
    )
    assert len(cause.events) <= 5
    # read-only and bounded: one DescribeServices, one ListTasks, one DescribeTasks
    assert API_CALLS.by_operation() == {"DescribeServices": 1, "ListTasks": 1, "DescribeTasks": 1}


def test_an_image_that_cannot_be_pulled_is_named(ecs: Any) -> None:
    _failed_deployment(ecs, "registry.example/web:missing")
    broken = ecs.list_task_definitions(familyPrefix="web", sort="DESC")["taskDefinitionArns"][0]

    cause = diagnose(
        build_clients(region=REGION, role_arn=None),
        cluster="staging",
        service="web",
        task_definition=broken,
    )

    sentence = cause.sentence() or ""
    assert sentence.startswith("tasks stopped: CannotPullContainerError: pull image manifest")
    assert "registry.example/web:missing: not found (TaskFailedToStart)" in sentence
    assert all(t.stop_code == "TaskFailedToStart" for t in cause.tasks)


def test_unhealthy_targets_are_named(ecs: Any) -> None:
    elbv2 = boto3.client("elbv2", region_name=REGION)
    group = elbv2.create_target_group(
        Name="web", Protocol="HTTP", Port=8080, VpcId=_network()["vpc"], TargetType="ip"
    )["TargetGroups"][0]["TargetGroupArn"]
    ecs.create_service(
        cluster="staging",
        serviceName="web",
        taskDefinition=_register(ecs, "registry.example/web:broken"),
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration=_network()["awsvpc"],
        loadBalancers=[{"targetGroupArn": group, "containerName": "web", "containerPort": 8080}],
    )
    clients = build_clients(region=REGION, role_arn=None)

    cause = _wait(
        lambda: diagnose(clients, cluster="staging", service="web"),
        lambda c: bool(c.targets),
        what="an unhealthy target",
    )

    assert "targets unhealthy: Target.FailedHealthChecks (Health checks failed)" in (
        cause.sentence() or ""
    )
    assert cause.targets[0].target_group == group


def test_a_service_that_does_not_exist_gives_an_empty_cause(ecs: Any) -> None:
    cause = diagnose(build_clients(region=REGION, role_arn=None), cluster="nope", service="web")

    assert cause.sentence() is None and cause.events == ()
