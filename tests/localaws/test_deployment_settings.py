"""local-aws answers as ECS does for the members it reports on deployments, and fills its defaults.

Service Connect, managed EBS volumes and VPC Lattice are reported on ``deployments[]`` only, with
ECS's defaults written out; a change of them takes a new deployment. Task definitions keep every
member they were registered with, with ECS's defaults (EFS rootDirectory "/", health check
timings), and an EC2 container may give memoryReservation alone.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.localaws.support import Network, describe, register, steady, wait_for

ROLE = "arn:aws:iam::123456789012:role/ecsInfrastructureRole"


def _create(ecs: Any, network: Network, cluster: str, **members: Any) -> dict[str, Any]:
    arn = register(ecs, "web", "registry.example/web:1")
    created: dict[str, Any] = ecs.create_service(
        cluster=cluster,
        serviceName="web",
        taskDefinition=arn,
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration=network.awsvpc(),
        **members,
    )["service"]
    return created


def _primary(service: dict[str, Any]) -> dict[str, Any]:
    primary: dict[str, Any] = next(d for d in service["deployments"] if d["status"] == "PRIMARY")
    return primary


def test_service_connect_is_reported_on_the_deployment_with_ecs_defaults(
    ecs: Any, network: Network, cluster: str
) -> None:
    connect = {
        "enabled": True,
        "namespace": "staging.local",
        "services": [{"portName": "http", "clientAliases": [{"port": 80}]}],
        "accessLogConfiguration": {"format": "JSON"},
    }
    _create(ecs, network, cluster, serviceConnectConfiguration=connect)

    service = describe(ecs, cluster, "web")

    assert "serviceConnectConfiguration" not in service
    reported = _primary(service)["serviceConnectConfiguration"]
    assert reported["services"] == [
        {
            "portName": "http",
            "discoveryName": "http",
            "clientAliases": [{"port": 80, "dnsName": "http.staging.local"}],
        }
    ]
    assert reported["accessLogConfiguration"] == {
        "format": "JSON",
        "includeQueryParameters": "DISABLED",
    }


def test_a_service_connect_client_gets_the_cluster_default_namespace(
    ecs: Any, network: Network
) -> None:
    ecs.create_cluster(clusterName="mesh", serviceConnectDefaults={"namespace": "mesh.local"})
    _create(ecs, network, "mesh", serviceConnectConfiguration={"enabled": True})

    reported = _primary(describe(ecs, "mesh", "web"))["serviceConnectConfiguration"]

    assert reported == {"enabled": True, "namespace": "mesh.local"}


def test_service_connect_without_any_namespace_is_refused(
    ecs: Any, network: Network, cluster: str
) -> None:
    with pytest.raises(ClientError, match="namespace"):
        _create(ecs, network, cluster, serviceConnectConfiguration={"enabled": True})


def test_managed_ebs_volumes_are_reported_on_the_deployment_with_ecs_defaults(
    ecs: Any, network: Network, cluster: str
) -> None:
    volume = {"name": "data", "managedEBSVolume": {"roleArn": ROLE, "sizeInGiB": 20}}
    _create(ecs, network, cluster, volumeConfigurations=[volume])

    service = describe(ecs, cluster, "web")

    assert "volumeConfigurations" not in service
    (reported,) = _primary(service)["volumeConfigurations"]
    assert reported["managedEBSVolume"] == {
        "roleArn": ROLE,
        "sizeInGiB": 20,
        "filesystemType": "xfs",
        "volumeType": "gp3",
    }


def test_a_changed_deployment_only_member_starts_a_new_deployment_and_an_unchanged_one_does_not(
    ecs: Any, network: Network, cluster: str
) -> None:
    volume = {"name": "data", "managedEBSVolume": {"roleArn": ROLE, "sizeInGiB": 20}}
    _create(ecs, network, cluster, volumeConfigurations=[volume])
    first = wait_for(lambda: describe(ecs, cluster, "web"), steady, what="the first deployment")

    ecs.update_service(cluster=cluster, service="web", volumeConfigurations=[volume])
    same = describe(ecs, cluster, "web")
    assert [d["id"] for d in same["deployments"]] == [d["id"] for d in first["deployments"]]

    bigger = {"name": "data", "managedEBSVolume": {"roleArn": ROLE, "sizeInGiB": 40}}
    ecs.update_service(cluster=cluster, service="web", volumeConfigurations=[bigger])
    changed = describe(ecs, cluster, "web")
    primary = _primary(changed)
    assert primary["id"] != first["deployments"][0]["id"]
    assert primary["volumeConfigurations"][0]["managedEBSVolume"]["sizeInGiB"] == 40
    previous = next(d for d in changed["deployments"] if d["status"] == "ACTIVE")
    assert previous["volumeConfigurations"][0]["managedEBSVolume"]["sizeInGiB"] == 20


def test_a_task_definition_is_described_with_ecs_defaults_and_every_member_it_was_given(
    ecs: Any, local_aws: Any
) -> None:
    ecs.register_task_definition(
        family="wordpress",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        enableFaultInjection=True,
        containerDefinitions=[
            {
                "name": "app",
                "image": "wordpress:6",
                "healthCheck": {"command": ["CMD-SHELL", "true"]},
            }
        ],
        volumes=[{"name": "content", "efsVolumeConfiguration": {"fileSystemId": "fs-1"}}],
    )

    td = ecs.describe_task_definition(taskDefinition="wordpress")["taskDefinition"]

    assert td["enableFaultInjection"] is True
    assert td["volumes"][0]["efsVolumeConfiguration"] == {
        "fileSystemId": "fs-1",
        "rootDirectory": "/",
        "transitEncryption": "DISABLED",
    }
    assert td["containerDefinitions"][0]["healthCheck"] == {
        "command": ["CMD-SHELL", "true"],
        "interval": 30,
        "timeout": 5,
        "retries": 3,
    }


def test_an_ec2_container_may_reserve_memory_without_a_hard_limit(ecs: Any, local_aws: Any) -> None:
    td = ecs.register_task_definition(
        family="bridge",
        requiresCompatibilities=["EC2"],
        containerDefinitions=[{"name": "web", "image": "nginx", "memoryReservation": 128}],
    )["taskDefinition"]
    assert td["containerDefinitions"][0]["memoryReservation"] == 128

    with pytest.raises(ClientError, match="memory"):
        ecs.register_task_definition(
            family="bridge",
            requiresCompatibilities=["EC2"],
            containerDefinitions=[{"name": "web", "image": "nginx"}],
        )


def test_a_windows_service_on_fargate_reports_its_platform_family(
    ecs: Any, network: Network, cluster: str
) -> None:
    windows = {"operatingSystemFamily": "WINDOWS_SERVER_2019_CORE", "cpuArchitecture": "X86_64"}
    arn = register(ecs, "iis", "mcr.microsoft.com/windows/servercore/iis", runtimePlatform=windows)
    ecs.create_service(
        cluster=cluster,
        serviceName="iis",
        taskDefinition=arn,
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration=network.awsvpc(),
    )

    service = wait_for(lambda: describe(ecs, cluster, "iis"), steady, what="the service steady")

    assert service["platformFamily"] == "WINDOWS_SERVER_2019_CORE"
    (task,) = ecs.describe_tasks(
        cluster=cluster, tasks=ecs.list_tasks(cluster=cluster)["taskArns"]
    )["tasks"]
    assert task["platformFamily"] == "WINDOWS_SERVER_2019_CORE"
