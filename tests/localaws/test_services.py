"""Service settings are kept and returned with ECS's defaults; deletion drains, then frees the name."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.localaws.support import Network, describe, register, steady, wait_for


def test_create_service_keeps_settings_and_fills_defaults(
    ecs: Any, cluster: str, network: Network
) -> None:
    task_definition = register(ecs, "web", "registry.example/web:1")
    ecs.create_service(
        cluster=cluster,
        serviceName="web",
        taskDefinition="web",  # a family: the service reports the full ARN
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": network.subnets,
                "securityGroups": [network.security_group],
            }
        },
        enableExecuteCommand=True,
        propagateTags="SERVICE",
        tags=[{"key": "team", "value": "web"}],
    )

    service = ecs.describe_services(cluster=cluster, services=["web"], include=["TAGS"])[
        "services"
    ][0]

    assert service["taskDefinition"] == task_definition
    assert service["deploymentConfiguration"] == {
        "deploymentCircuitBreaker": {"enable": False, "rollback": False},
        "maximumPercent": 200,
        "minimumHealthyPercent": 100,
    }
    assert service["schedulingStrategy"] == "REPLICA"
    assert service["platformVersion"] == "LATEST"
    assert service["networkConfiguration"]["awsvpcConfiguration"]["assignPublicIp"] == "DISABLED"
    assert service["enableExecuteCommand"] is True
    assert service["propagateTags"] == "SERVICE"
    assert service["tags"] == [{"key": "team", "value": "web"}]
    assert "tags" not in describe(ecs, cluster, "web")
    wait_for(lambda: describe(ecs, cluster, "web"), steady, what="web steady")
    [arn] = ecs.list_tasks(cluster=cluster, serviceName="web")["taskArns"]
    task = ecs.describe_tasks(cluster=cluster, tasks=[arn], include=["TAGS"])["tasks"][0]
    assert task["tags"] == [{"key": "team", "value": "web"}]  # propagated from the service
    assert task["enableExecuteCommand"] is True


def test_deployment_configuration_is_kept_and_updated(
    ecs: Any, cluster: str, network: Network
) -> None:
    ecs.create_service(
        cluster=cluster,
        serviceName="web",
        taskDefinition=register(ecs, "web", "registry.example/web:1"),
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration=network.awsvpc(),
        deploymentConfiguration={
            "deploymentCircuitBreaker": {"enable": True, "rollback": True},
            "maximumPercent": 150,
            "minimumHealthyPercent": 50,
            "alarms": {"alarmNames": ["web-5xx"], "enable": True, "rollback": True},
        },
        healthCheckGracePeriodSeconds=45,
    )
    created = describe(ecs, cluster, "web")
    assert created["deploymentConfiguration"]["maximumPercent"] == 150
    assert created["deploymentConfiguration"]["minimumHealthyPercent"] == 50
    assert created["deploymentConfiguration"]["deploymentCircuitBreaker"] == {
        "enable": True,
        "rollback": True,
    }
    assert created["deploymentConfiguration"]["alarms"] == {
        "alarmNames": ["web-5xx"],
        "enable": True,
        "rollback": True,
    }
    assert created["healthCheckGracePeriodSeconds"] == 45

    updated = ecs.update_service(
        cluster=cluster,
        service="web",
        deploymentConfiguration={"maximumPercent": 200, "minimumHealthyPercent": 100},
        healthCheckGracePeriodSeconds=60,
        enableExecuteCommand=True,
    )["service"]

    assert updated["deploymentConfiguration"]["maximumPercent"] == 200
    assert updated["deploymentConfiguration"]["deploymentCircuitBreaker"] == {
        "enable": True,
        "rollback": True,
    }
    assert updated["healthCheckGracePeriodSeconds"] == 60
    assert updated["enableExecuteCommand"] is True
    assert len(updated["deployments"]) == 1  # settings alone start no deployment


def test_minimum_healthy_50_replaces_one_task_at_a_time(
    ecs: Any, cluster: str, network: Network
) -> None:
    ecs.create_service(
        cluster=cluster,
        serviceName="web",
        taskDefinition=register(ecs, "web", "registry.example/web:1"),
        desiredCount=2,
        launchType="FARGATE",
        networkConfiguration=network.awsvpc(),
        deploymentConfiguration={"maximumPercent": 100, "minimumHealthyPercent": 50},
    )
    wait_for(lambda: describe(ecs, cluster, "web"), steady, what="web steady")
    v2 = register(ecs, "web", "registry.example/web:2")
    ecs.update_service(cluster=cluster, service="web", taskDefinition=v2)

    def observe() -> dict[str, Any]:
        service = describe(ecs, cluster, "web")
        assert service["runningCount"] + service["pendingCount"] <= 2
        return service

    done = wait_for(observe, lambda s: steady(s) and s["taskDefinition"] == v2, what="v2 steady")
    assert done["runningCount"] == 2


def test_update_of_a_missing_service_is_service_not_found(ecs: Any, cluster: str) -> None:
    with pytest.raises(ClientError) as missing:
        ecs.update_service(cluster=cluster, service="nope", desiredCount=1)
    assert missing.value.response["Error"]["Code"] == "ServiceNotFoundException"


def test_delete_service_drains_then_goes_inactive_and_frees_the_name(
    ecs: Any, cluster: str, network: Network
) -> None:
    def create() -> None:
        ecs.create_service(
            cluster=cluster,
            serviceName="web",
            taskDefinition=register(ecs, "web", "registry.example/web:1"),
            desiredCount=2,
            launchType="FARGATE",
            networkConfiguration=network.awsvpc(),
        )

    create()
    wait_for(lambda: describe(ecs, cluster, "web"), steady, what="web steady")
    with pytest.raises(ClientError) as scaled:
        ecs.delete_service(cluster=cluster, service="web")
    assert scaled.value.response["Error"]["Code"] == "InvalidParameterException"
    with pytest.raises(ClientError) as taken:
        create()
    assert taken.value.response["Error"]["Code"] == "InvalidParameterException"

    deleted = ecs.delete_service(cluster=cluster, service="web", force=True)["service"]

    assert deleted["status"] == "DRAINING"
    assert ecs.list_tasks(cluster=cluster, desiredStatus="RUNNING")["taskArns"] == []
    inactive = wait_for(
        lambda: describe(ecs, cluster, "web"), lambda s: s["status"] == "INACTIVE", what="INACTIVE"
    )
    assert inactive["runningCount"] == 0
    assert ecs.list_services(cluster=cluster)["serviceArns"] == []
    with pytest.raises(ClientError) as not_active:
        ecs.update_service(cluster=cluster, service="web", desiredCount=1)
    assert not_active.value.response["Error"]["Code"] == "ServiceNotActiveException"

    create()
    again = wait_for(lambda: describe(ecs, cluster, "web"), steady, what="the new web steady")
    assert again["status"] == "ACTIVE"
    cluster_view = ecs.describe_clusters(clusters=[cluster])["clusters"][0]
    assert cluster_view["runningTasksCount"] == 2 and cluster_view["activeServicesCount"] == 1


def test_fargate_capacity_provider_strategy_runs_without_a_launch_type(
    ecs: Any, cluster: str, network: Network
) -> None:
    ecs.create_service(
        cluster=cluster,
        serviceName="web",
        taskDefinition=register(ecs, "web", "registry.example/web:1"),
        desiredCount=1,
        capacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT", "weight": 1}],
        networkConfiguration=network.awsvpc(),
    )

    service = wait_for(lambda: describe(ecs, cluster, "web"), steady, what="web steady")

    assert "launchType" not in service
    assert service["capacityProviderStrategy"] == [
        {"capacityProvider": "FARGATE_SPOT", "weight": 1}
    ]
    assert service["platformVersion"] == "LATEST"
    [arn] = ecs.list_tasks(cluster=cluster, serviceName="web")["taskArns"]
    task = ecs.describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]
    assert task["capacityProviderName"] == "FARGATE_SPOT"
    assert task["platformVersion"] == "1.4.0"


@pytest.mark.parametrize(
    "change",
    [
        {"networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-0000dead"]}}},
        {"taskDefinition": "arn:aws:ecs:us-east-1:123456789012:task-definition/nothing:9"},
        {"desiredCount": -3},
    ],
    ids=["unknown-subnet", "unknown-revision", "negative-count"],
)
def test_a_refused_update_changes_nothing(
    ecs: Any, cluster: str, network: Network, change: dict[str, Any]
) -> None:
    first = register(ecs, "web", "registry.example/web:1")
    second = register(ecs, "web", "registry.example/web:2")
    ecs.create_service(
        cluster=cluster,
        serviceName="web",
        taskDefinition=first,
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration=network.awsvpc(),
    )
    wait_for(lambda: describe(ecs, cluster, "web"), steady, what="web steady")
    before = describe(ecs, cluster, "web")

    # ECS checks a request as a whole: the good parts of a refused one are not applied either
    request = {"taskDefinition": second, "desiredCount": 3, **change}
    with pytest.raises(ClientError):
        ecs.update_service(cluster=cluster, service="web", **request)

    after = describe(ecs, cluster, "web")
    assert after["taskDefinition"] == before["taskDefinition"] == first
    assert after["desiredCount"] == 1
    assert [d["id"] for d in after["deployments"]] == [d["id"] for d in before["deployments"]]
