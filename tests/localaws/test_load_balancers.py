"""Target groups follow a service's tasks, so a blue/green swap is visible in DescribeTargetHealth."""

from __future__ import annotations

from typing import Any

from tests.localaws.support import Network, describe, register, steady, wait_for


def _target_group(elbv2: Any, network: Network, name: str) -> str:
    arn: str = elbv2.create_target_group(
        Name=name, Protocol="HTTP", Port=8080, VpcId=network.vpc, TargetType="ip"
    )["TargetGroups"][0]["TargetGroupArn"]
    return arn


def _health(elbv2: Any, arn: str) -> dict[str, str]:
    described = elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
    return {d["Target"]["Id"]: d["TargetHealth"]["State"] for d in described}


def _task_ips(ecs: Any, cluster: str) -> set[str]:
    arns = ecs.list_tasks(cluster=cluster, serviceName="web")["taskArns"]
    tasks = ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"] if arns else []
    return {
        d["value"]
        for t in tasks
        for a in t["attachments"]
        for d in a["details"]
        if d["name"] == "privateIPv4Address"
    }


def _create(ecs: Any, cluster: str, network: Network, target_group: str) -> None:
    ecs.create_service(
        cluster=cluster,
        serviceName="web",
        taskDefinition=register(ecs, "web", "registry.example/web:1"),
        desiredCount=2,
        launchType="FARGATE",
        networkConfiguration=network.awsvpc(),
        loadBalancers=[
            {"targetGroupArn": target_group, "containerName": "app", "containerPort": 8080}
        ],
        healthCheckGracePeriodSeconds=30,
    )


def test_running_tasks_are_registered_and_drained_ones_deregistered(
    ecs: Any, elbv2: Any, cluster: str, network: Network
) -> None:
    blue = _target_group(elbv2, network, "web-blue")
    _create(ecs, cluster, network, blue)
    wait_for(lambda: describe(ecs, cluster, "web"), steady, what="web steady")
    first_ips = _task_ips(ecs, cluster)

    assert len(first_ips) == 2
    assert _health(elbv2, blue) == dict.fromkeys(first_ips, "healthy")
    ports = {
        d["Target"]["Port"]
        for d in elbv2.describe_target_health(TargetGroupArn=blue)["TargetHealthDescriptions"]
    }
    assert ports == {8080}

    ecs.update_service(
        cluster=cluster,
        service="web",
        taskDefinition=register(ecs, "web", "registry.example/web:2"),
    )
    wait_for(
        lambda: describe(ecs, cluster, "web"),
        lambda s: steady(s) and s["taskDefinition"].endswith(":2"),
        what="v2 steady",
    )

    second_ips = _task_ips(ecs, cluster)
    assert second_ips.isdisjoint(first_ips)
    assert _health(elbv2, blue) == dict.fromkeys(second_ips, "healthy")


def test_blue_green_swap_moves_the_targets(
    ecs: Any, elbv2: Any, cluster: str, network: Network
) -> None:
    blue = _target_group(elbv2, network, "web-blue")
    green = _target_group(elbv2, network, "web-green")
    _create(ecs, cluster, network, blue)
    first = wait_for(lambda: describe(ecs, cluster, "web"), steady, what="web steady")

    swapped = ecs.update_service(
        cluster=cluster,
        service="web",
        loadBalancers=[{"targetGroupArn": green, "containerName": "app", "containerPort": 8080}],
    )["service"]

    assert len(swapped["deployments"]) == 2  # new load balancers are a new deployment
    wait_for(
        lambda: describe(ecs, cluster, "web"),
        lambda s: steady(s) and s["deployments"][0]["id"] != first["deployments"][0]["id"],
        what="the swap complete",
    )
    assert _health(elbv2, blue) == {}
    assert _health(elbv2, green) == dict.fromkeys(_task_ips(ecs, cluster), "healthy")
    assert len(_health(elbv2, green)) == 2


def test_tasks_of_failing_images_are_unhealthy_targets(
    ecs: Any, elbv2: Any, cluster: str, network: Network
) -> None:
    blue = _target_group(elbv2, network, "web-blue")
    _create(ecs, cluster, network, blue)
    wait_for(lambda: describe(ecs, cluster, "web"), steady, what="web steady")
    healthy_ips = _task_ips(ecs, cluster)
    ecs.update_service(
        cluster=cluster,
        service="web",
        taskDefinition=register(ecs, "web", "registry.example/web:broken"),
    )

    seen = wait_for(
        lambda: _health(elbv2, blue),
        lambda health: "unhealthy" in health.values(),
        what="an unhealthy target",
    )

    assert {ip: state for ip, state in seen.items() if ip in healthy_ips} == dict.fromkeys(
        healthy_ips, "healthy"
    )
