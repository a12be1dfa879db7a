"""RunTask jobs run and stop with exit codes; ListTasks and StopTask behave as in ECS."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from controller.localaws import LocalAws, SimulationOptions
from tests.localaws.support import Network, describe, register, steady, wait_for


def _run(
    ecs: Any, cluster: str, network: Network, task_definition: str, **extra: Any
) -> dict[str, Any]:
    response = ecs.run_task(
        cluster=cluster,
        taskDefinition=task_definition,
        launchType="FARGATE",
        networkConfiguration=network.awsvpc(),
        **extra,
    )
    assert response["failures"] == []
    task: dict[str, Any] = response["tasks"][0]
    return task


def _stopped(ecs: Any, cluster: str, arn: str) -> dict[str, Any]:
    task: dict[str, Any] = wait_for(
        lambda: ecs.describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0],
        lambda t: t["lastStatus"] == "STOPPED",
        what=f"{arn} STOPPED",
    )
    return task


def test_run_task_job_goes_through_the_lifecycle_and_exits_0(
    ecs: Any, cluster: str, network: Network
) -> None:
    # Task-level cpu/memory only: moto alone crashes on this.
    task_definition = register(ecs, "migrate", "registry.example/migrate:1")

    started = _run(ecs, cluster, network, task_definition, startedBy="ecs-gitops")

    assert started["lastStatus"] == "PROVISIONING" and started["desiredStatus"] == "RUNNING"
    assert started["taskDefinitionArn"] == task_definition
    assert started["cpu"] == "256" and started["memory"] == "512"
    seen: list[str] = []

    def observe() -> dict[str, Any]:
        task: dict[str, Any] = ecs.describe_tasks(cluster=cluster, tasks=[started["taskArn"]])[
            "tasks"
        ][0]
        if not seen or seen[-1] != task["lastStatus"]:
            seen.append(task["lastStatus"])
        return task

    stopped = wait_for(observe, lambda t: t["lastStatus"] == "STOPPED", what="the job STOPPED")

    assert seen[-1] == "STOPPED" and "RUNNING" in seen
    assert seen == [s for s in ["PROVISIONING", "PENDING", "RUNNING", "STOPPED"] if s in seen]
    assert stopped["desiredStatus"] == "STOPPED"
    assert stopped["stoppedReason"] == "Essential container in task exited"
    assert stopped["stopCode"] == "EssentialContainerExited"
    assert [c["exitCode"] for c in stopped["containers"]] == [0]
    assert stopped["startedAt"] <= stopped["stoppedAt"]
    assert stopped["startedBy"] == "ecs-gitops"


def test_run_task_of_a_failing_image_exits_1(ecs: Any, cluster: str, network: Network) -> None:
    task = _run(ecs, cluster, network, register(ecs, "migrate", "registry.example/migrate:broken"))

    stopped = _stopped(ecs, cluster, task["taskArn"])

    assert [c["exitCode"] for c in stopped["containers"]] == [1]
    assert stopped["stoppedReason"] == "Essential container in task exited"


def test_fail_images_can_be_switched_at_runtime(
    local_aws: LocalAws, ecs: Any, cluster: str, network: Network
) -> None:
    task_definition = register(ecs, "migrate", "registry.example/migrate:1")
    local_aws.options = SimulationOptions(fail_images=("*/migrate:*",), task_start_seconds=0.2)

    task = _run(ecs, cluster, network, task_definition)

    assert [c["exitCode"] for c in _stopped(ecs, cluster, task["taskArn"])["containers"]] == [1]


def test_stuck_run_task_stays_pending(ecs: Any, cluster: str, network: Network) -> None:
    stuck = _run(ecs, cluster, network, register(ecs, "migrate", "registry.example/migrate:stuck"))
    clock = _run(ecs, cluster, network, register(ecs, "clock", "registry.example/clock:1"))

    _stopped(ecs, cluster, clock["taskArn"])

    task = ecs.describe_tasks(cluster=cluster, tasks=[stuck["taskArn"]])["tasks"][0]
    assert task["lastStatus"] == "PENDING" and task["desiredStatus"] == "RUNNING"


def test_run_task_on_ec2_without_instances_reports_a_failure(ecs: Any, cluster: str) -> None:
    ecs.register_task_definition(
        family="bridge",
        containerDefinitions=[{"name": "app", "image": "registry.example/app:1", "memory": 128}],
    )

    response = ecs.run_task(cluster=cluster, taskDefinition="bridge", launchType="EC2")

    assert response["tasks"] == []
    assert response["failures"] == [
        {"reason": "No Container Instances were found in your cluster."}
    ]


def test_list_tasks_honours_its_filters(ecs: Any, cluster: str, network: Network) -> None:
    ecs.create_service(
        cluster=cluster,
        serviceName="web",
        taskDefinition=register(ecs, "web", "registry.example/web:1"),
        desiredCount=2,
        launchType="FARGATE",
        networkConfiguration=network.awsvpc(),
    )
    job = _run(
        ecs,
        cluster,
        network,
        register(ecs, "migrate", "registry.example/migrate:1"),
        startedBy="deploy-7",
    )
    long_job = _run(ecs, cluster, network, register(ecs, "report", "registry.example/report:stuck"))
    wait_for(lambda: describe(ecs, cluster, "web"), steady, what="web steady")
    _stopped(ecs, cluster, job["taskArn"])
    ecs.create_cluster(clusterName="other")

    def arns(**filters: Any) -> set[str]:
        return set(ecs.list_tasks(cluster=cluster, **filters)["taskArns"])

    web = arns(serviceName="web")
    assert len(web) == 2
    assert arns() == web | {long_job["taskArn"]}  # desiredStatus defaults to RUNNING
    assert arns(desiredStatus="STOPPED") == {job["taskArn"]}
    assert arns(family="migrate", desiredStatus="STOPPED") == {job["taskArn"]}
    assert arns(family="web") == web
    assert arns(startedBy="deploy-7", desiredStatus="STOPPED") == {job["taskArn"]}
    assert arns(startedBy="deploy-7") == set()
    assert arns(launchType="FARGATE") == arns()
    assert ecs.list_tasks(cluster="other")["taskArns"] == []
    page = ecs.list_tasks(cluster=cluster, maxResults=2)
    assert len(page["taskArns"]) == 2
    rest = ecs.list_tasks(cluster=cluster, maxResults=2, nextToken=page["nextToken"])["taskArns"]
    assert set(page["taskArns"]) | set(rest) == arns()
    with pytest.raises(ClientError) as missing:
        ecs.list_tasks(cluster=cluster, serviceName="nope")
    assert missing.value.response["Error"]["Code"] == "ServiceNotFoundException"


def test_stop_task_of_a_service_is_replaced(ecs: Any, cluster: str, network: Network) -> None:
    ecs.create_service(
        cluster=cluster,
        serviceName="web",
        taskDefinition=register(ecs, "web", "registry.example/web:1"),
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration=network.awsvpc(),
    )
    wait_for(lambda: describe(ecs, cluster, "web"), steady, what="web steady")
    [victim] = ecs.list_tasks(cluster=cluster, serviceName="web")["taskArns"]

    stopped = ecs.stop_task(cluster=cluster, task=victim, reason="drill")["task"]

    assert stopped["lastStatus"] == "STOPPED" and stopped["stoppedReason"] == "drill"
    assert stopped["stopCode"] == "UserInitiated"
    replaced = wait_for(
        lambda: ecs.list_tasks(cluster=cluster, serviceName="web")["taskArns"],
        lambda arns: len(arns) == 1 and arns[0] != victim,
        what="a replacement task",
    )
    assert replaced != [victim]
    wait_for(lambda: describe(ecs, cluster, "web"), steady, what="web steady again")


def test_stopped_tasks_release_their_network_interfaces(
    ecs: Any, ec2: Any, cluster: str, network: Network
) -> None:
    task = _run(ecs, cluster, network, register(ecs, "migrate", "registry.example/migrate:1"))
    [attachment] = task["attachments"]
    eni = next(d["value"] for d in attachment["details"] if d["name"] == "networkInterfaceId")
    assert [
        n["NetworkInterfaceId"]
        for n in ec2.describe_network_interfaces(NetworkInterfaceIds=[eni])["NetworkInterfaces"]
    ] == [eni]

    _stopped(ecs, cluster, task["taskArn"])

    with pytest.raises(ClientError):
        ec2.describe_network_interfaces(NetworkInterfaceIds=[eni])
